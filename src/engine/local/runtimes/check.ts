// Asks a llama-server what it is (`--version`) and what it can run on (`--list-devices`): a quick
// check that a runtime really starts here before the engine relies on it.
import { execFile } from 'node:child_process';
import { RuntimeError } from './errors';

export interface ServerCheck {
  /** First line of --version, e.g. "version: 0.4.0-dev (build 1, commit 80fb11a)". */
  version: string;
  /** Devices it lists, e.g. "Vulkan0: NVIDIA GeForce RTX 4070 (12282 MiB, 11536 MiB free)"; CPU-only builds list none. */
  devices: string[];
}

const CHECK_TIMEOUT_MS = 15_000;
const CHECK_MAX_OUTPUT = 256 * 1024;

function run(executable: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(executable, args, { timeout: timeoutMs, maxBuffer: CHECK_MAX_OUTPUT, windowsHide: true, encoding: 'utf8', env }, (err, stdout, stderr) => {
      const out = `${stdout}\n${stderr}`.trim();
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const why = e.killed ? `no answer in ${timeoutMs / 1000} s` : e.code === 'ENOENT' ? 'not found' : e.code === 'EACCES' ? 'not executable' : (out.split('\n').slice(-3).join(' ').trim() || e.message);
        reject(new RuntimeError('broken', `${executable} ${args.join(' ')} failed: ${why.slice(0, 400)}`));
      } else resolve(out);
    });
  });
}

/** `--version` output → its version line. */
export function parseVersion(out: string): string | null {
  return out.split(/\r?\n/).find((l) => /^version:\s*\S/.test(l.trim()))?.trim() ?? null;
}

/** `--list-devices` output → one entry per device below "Available devices:". */
export function parseDevices(out: string): string[] {
  const lines = out.split(/\r?\n/);
  const at = lines.findIndex((l) => /^Available devices:/.test(l.trim()));
  if (at < 0) return [];
  return lines
    .slice(at + 1)
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z][\w-]*\d*:\s/.test(l));
}

/** Runs both; a runtime that cannot answer --version (missing library, wrong platform) is broken. */
export async function checkServer(executable: string, { env = process.env, timeoutMs = CHECK_TIMEOUT_MS }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServerCheck> {
  const versionOut = await run(executable, ['--version'], env, timeoutMs);
  const version = parseVersion(versionOut);
  if (!version) throw new RuntimeError('broken', `${executable} --version printed no version: it is not llama.cpp's llama-server (${versionOut.slice(0, 200)})`);
  const devices = parseDevices(await run(executable, ['--list-devices'], env, timeoutMs));
  return { version, devices };
}
