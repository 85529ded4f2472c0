import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built worker bundle: integration tests run what ships. */
export const WORKER_PATH = join(ROOT, 'dist', 'worker.js');
export const GENERATED = join(ROOT, 'test', 'fixtures', 'generated');

export function tinyModel(name: string): { modelPath: string; mmprojPath: string; answer: string } {
  const dir = join(GENERATED, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { answer: string };
  return { modelPath: join(dir, 'model.gguf'), mmprojPath: join(dir, 'mmproj.gguf'), answer: expected.answer };
}
