// Which llama-server the local engine starts, in this order:
//   1. internvlLens.llamaServerPath, when set (one's own build: used as it is, or a clear error);
//   2. the runtime chosen with Choose Inference Runtime… — a downloaded GPU runtime of the pinned
//      release (checked with --version once per session; a broken one falls back, with a notice),
//      or the llama-server on PATH;
//   3. the build the VSIX carries (dist/llama.cpp/, unpacked once into the global storage: bundled.ts);
//   4. a llama-server on PATH (Homebrew, winget, a distribution package), when the VSIX has none.
import { access, constants, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { bundleDir, bundledServer } from './bundled';
import { checkServer, type ServerCheck } from './check';
import { RuntimeError } from './errors';
import { installedRuntimes, type InstalledRuntime } from './install';
import { LLAMA_RELEASE, type ReleasePin, serverExecutableName } from './release';
import { errorMessage } from '../../../util/errorMessage';

export type ServerSource = 'setting' | 'downloaded' | 'bundled' | 'path';

/** What the user picked; 'auto' uses a downloaded runtime when one works, else the built-in build. */
export type RuntimeChoice = { kind: 'auto' } | { kind: 'bundled' } | { kind: 'path' } | { kind: 'downloaded'; dir: string };

/** Where the choice is kept: the extension's global state (per machine). */
export const RUNTIME_CHOICE_KEY = 'internvlLens.runtimeChoice';

/** A stored choice, whatever was stored: anything unknown is 'auto'. */
export function parseRuntimeChoice(value: unknown): RuntimeChoice {
  const v = value as { kind?: unknown; dir?: unknown } | null | undefined;
  if (v?.kind === 'bundled' || v?.kind === 'path') return { kind: v.kind };
  if (v?.kind === 'downloaded' && typeof v.dir === 'string' && v.dir.length < 4096) return { kind: 'downloaded', dir: v.dir };
  return { kind: 'auto' };
}

export interface ChosenServer {
  executable: string;
  source: ServerSource;
  /** Extra environment for the process (the builds find their libraries beside themselves: none today). */
  env: Record<string, string>;
  /** In words, for the log and the picker: "Vulkan runtime (llama.cpp v0.4.0, b7000)". */
  label: string;
  /** Something to tell the user about the choice (a fallback), or null. */
  notice: string | null;
}

export interface ChooseOptions {
  extensionPath: string;
  /** The extension's global storage (downloaded runtimes live in runtimes/ there). */
  storagePath: string;
  /** internvlLens.llamaServerPath; '' when not set. */
  configuredPath: string;
  choice?: RuntimeChoice;
  target?: string;
  env?: NodeJS.ProcessEnv;
  pin?: ReleasePin;
  /** How a runtime is tried; checkServer, remembered per executable for the session. */
  check?: (executable: string) => Promise<ServerCheck>;
  log?: (message: string) => void;
}

export function hostTarget(): string {
  return `${process.platform}-${process.arch}`;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Folders a GUI-started editor may lack on PATH but where people's llama-server lives: Homebrew
 * (macOS arm64 and x64, Linuxbrew) and winget's links folder.
 */
export function wellKnownBinDirs(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'darwin') return ['/opt/homebrew/bin', '/usr/local/bin'];
  if (platform === 'win32') return env.LOCALAPPDATA ? [join(env.LOCALAPPDATA, 'Microsoft', 'WinGet', 'Links')] : [];
  return ['/home/linuxbrew/.linuxbrew/bin', ...(env.HOME ? [join(env.HOME, '.local', 'bin')] : [])];
}

/** The first `program` (llama-server unless told) on PATH, then in the well-known folders, that is an executable file. */
export async function findOnPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, program = 'llama-server'): Promise<string | null> {
  const pathVar = env.PATH ?? env.Path ?? '';
  const dirs = [...pathVar.split(platform === 'win32' ? ';' : delimiter), ...wellKnownBinDirs(env, platform)].filter((d) => d.trim() !== '');
  const names = platform === 'win32' ? [`${program}.exe`] : [program];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir.replace(/^"(.*)"$/, '$1'), name);
      if (!(await isFile(candidate))) continue;
      if (platform !== 'win32' && !(await access(candidate, constants.X_OK).then(() => true, () => false))) continue;
      return candidate;
    }
  }
  return null;
}

const checked = new Map<string, Promise<ServerCheck>>();

/** checkServer, once per executable per session (a failure is asked again next time). */
export function checkOnce(executable: string): Promise<ServerCheck> {
  let p = checked.get(executable);
  if (!p) {
    p = checkServer(executable);
    checked.set(executable, p);
    p.catch(() => checked.delete(executable));
  }
  return p;
}

export function runtimeLabel(r: InstalledRuntime): string {
  return `${r.manifest.label} runtime (llama.cpp ${r.manifest.release}, ${r.manifest.tag})`;
}

export async function chooseLlamaServer(options: ChooseOptions): Promise<ChosenServer> {
  const { extensionPath, storagePath, configuredPath, choice = { kind: 'auto' }, target = hostTarget(), env = process.env, pin = LLAMA_RELEASE, check = checkOnce, log } = options;
  const configured = configuredPath.trim();
  if (configured) {
    if (!(await isFile(configured))) {
      throw new RuntimeError('not-found', `internvlLens.llamaServerPath points to ${configured}, which is not a file: point it at a llama-server executable, or clear it to use the built-in one.`);
    }
    return { executable: configured, source: 'setting', env: {}, label: `llama-server from internvlLens.llamaServerPath (${configured})`, notice: null };
  }
  const notices: string[] = [];
  if (choice.kind === 'auto' || choice.kind === 'downloaded') {
    const all = await installedRuntimes(storagePath, target, pin);
    const candidates = choice.kind === 'downloaded' ? all.filter((r) => r.dir === choice.dir) : all;
    if (choice.kind === 'downloaded' && candidates.length === 0) notices.push(`The runtime chosen before (${choice.dir}) is no longer installed.`);
    for (const r of candidates) {
      try {
        await check(r.executable);
        return { executable: r.executable, source: 'downloaded', env: {}, label: runtimeLabel(r), notice: null };
      } catch (err) {
        notices.push(`The ${runtimeLabel(r)} does not run (${errorMessage(err)}).`);
      }
    }
  }
  if (choice.kind === 'path') {
    const found = await findOnPath(env);
    if (found) return { executable: found, source: 'path', env: {}, label: `llama-server on PATH (${found})`, notice: null };
    notices.push('No llama-server is on PATH any more.');
  }
  const notice = (fallback: string) => (notices.length ? `${notices.join(' ')} Using ${fallback} instead.` : null);
  const bundled = await bundledServer(extensionPath, storagePath, serverExecutableName(target), log);
  if (bundled) return { executable: bundled, source: 'bundled', env: {}, label: `built-in CPU build (llama.cpp ${pin.release})`, notice: notice('the built-in CPU build') };
  const found = await findOnPath(env);
  if (found) return { executable: found, source: 'path', env: {}, label: `llama-server on PATH (${found})`, notice: notice(`the llama-server on PATH (${found})`) };
  throw new RuntimeError(
    'not-found',
    `${notices.length ? `${notices.join(' ')} ` : ''}This copy of InternVL Lens carries no llama-server for ${target} (nothing in ${bundleDir(extensionPath)}) and none is on PATH: set internvlLens.llamaServerPath to a llama-server, or install llama.cpp (brew install llama.cpp, winget install llama.cpp).`,
  );
}
