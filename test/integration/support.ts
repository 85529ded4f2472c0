import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChosenServer } from '../../src/engine/local/runtimes/choose';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GENERATED = join(ROOT, 'test', 'fixtures', 'generated');

export function tinyModel(name: string): { modelPath: string; mmprojPath: string; answer: string } {
  const dir = join(GENERATED, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { answer: string };
  return { modelPath: join(dir, 'model.gguf'), mmprojPath: join(dir, 'mmproj.gguf'), answer: expected.answer };
}

let serverPath: string | null = null;

/**
 * The llama-server the tests run: this machine's build from the bundled llama.cpp source
 * (scripts/build-llama-server.sh, cached in .tools/; scripts/test.mjs builds it before the suites).
 */
export function testLlamaServerPath(): string {
  serverPath ??= join(execFileSync('bash', [join(ROOT, 'scripts', 'build-llama-server.sh'), '--print-dir'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!, 'llama-server');
  return serverPath;
}

/** The test build as the local engine's runtime chooser would hand it over. */
export async function testLlamaServer(): Promise<ChosenServer> {
  const executable = testLlamaServerPath();
  return { executable, source: 'setting', env: {}, label: `test build (${executable})`, notice: null };
}
