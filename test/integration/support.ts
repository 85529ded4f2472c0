import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
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

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/internvl-lens as a user runs it, on the test llama-server, no model from the environment. */
export async function runCli(...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'internvl-lens'), ...args], { env: { ...process.env, INTERNVL_LENS_MODEL: '', INTERNVL_LENS_MMPROJ: '', INTERNVL_LENS_LLAMA_SERVER: testLlamaServerPath() } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The CLI flags that run the tiny model `name` on 2 CPU threads. */
export function modelFlags(name: string): string[] {
  const m = tinyModel(name);
  return ['--model', m.modelPath, '--mmproj', m.mmprojPath, '--threads', '2', '--gpu-layers', '0'];
}
