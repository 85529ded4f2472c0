// Downloads an official llama.cpp runtime of the pinned release into the extension's global storage
// (runtimes/<release>-<asset>/), with the model downloader (progress, resume, size and sha256
// checked before a byte is unpacked), unpacks it safely, and keeps it only if its llama-server runs
// here. The same steps give `npm run package` the CPU build of a platform it cannot build.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadFile, type DownloadProgress } from '../../../models/download';
import { unpackArchive } from './archive';
import { checkServer, type ServerCheck } from './check';
import { RuntimeError } from './errors';
import { GITHUB, nightlyTag, publishedAssets, type PublishedAsset, type ReleaseSource } from './metadata';
import { assetStem, LLAMA_RELEASE, type ReleasePin, type RuntimeAsset, serverExecutableName } from './release';
import { errorMessage } from '../../../util/errorMessage';

/** What is written beside an installed runtime: where it came from and what it said it is. */
export interface RuntimeManifest {
  version: 1;
  release: string;
  tag: string;
  target: string;
  id: string;
  label: string;
  assets: Array<{ name: string; bytes: number; sha256: string; digestFrom: PublishedAsset['digestFrom'] }>;
  serverVersion: string;
  devices: string[];
  installedAt: string;
}

export interface InstalledRuntime {
  dir: string;
  executable: string;
  manifest: RuntimeManifest;
}

/** What a download would fetch, for the question before it. */
export interface RuntimePlan {
  asset: RuntimeAsset;
  tag: string;
  files: PublishedAsset[];
  totalBytes: number;
  dir: string;
}

export interface InstallProgress extends DownloadProgress {
  file: string;
  index: number;
  count: number;
}

const MANIFEST = 'runtime.json';

export function runtimesRoot(storagePath: string): string {
  return join(storagePath, 'runtimes');
}

/**
 * Files a runtime needs: llama-server, the shared libraries (llama, ggml and each backend, with
 * their version links), the licence. The other tools of the release (~40) stay out.
 */
export function isRuntimeFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return /^llama-server(\.exe)?$/.test(name) || /\.(so(\.\d+)*|dylib|dll)$/.test(name) || /^LICENSE/.test(name);
}

/** Asks GitHub (or a mirror) what the runtime's files are: names, sizes, digests, URLs. */
export async function planRuntime(asset: RuntimeAsset, storagePath: string, { pin = LLAMA_RELEASE, source = GITHUB, signal }: { pin?: ReleasePin; source?: ReleaseSource; signal?: AbortSignal } = {}): Promise<RuntimePlan> {
  const tag = await nightlyTag(pin, source, signal);
  const names = asset.assets(tag);
  const files = await publishedAssets(pin, tag, names, source, signal);
  return { asset, tag, files, totalBytes: files.reduce((n, f) => n + f.bytes, 0), dir: join(runtimesRoot(storagePath), `${pin.release}-${assetStem(names[0]!)}`) };
}

/** Moves every top-level entry of `from` into `into`; refuses a name both have. */
async function merge(from: string, into: string): Promise<void> {
  for (const name of await readdir(from)) {
    const to = join(into, name);
    if (await stat(to).then(() => true, () => false)) throw new RuntimeError('archive', `two archives of the runtime both hold ${name}`);
    await rename(join(from, name), to);
  }
}

export interface InstallOptions {
  pin?: ReleasePin;
  signal?: AbortSignal;
  onProgress?: (p: InstallProgress) => void;
  log?: (message: string) => void;
  /** Downloader knobs, for tests (connections, segment size, retry pacing). */
  download?: { connections?: number; minSegmentBytes?: number; retryDelayMs?: number; progressIntervalMs?: number; saveIntervalMs?: number };
  /** Whether the runtime must list a GPU device to be kept (a GPU runtime that sees none is no use). */
  requireDevice?: boolean;
  /** Run its --version before keeping it; false for another platform's build (packaging). */
  tryRun?: boolean;
}

/**
 * Fetches, checks, unpacks and tries the planned runtime. The archives stay in runtimes/downloads/
 * until the runtime is in place, so a cancelled or failed attempt resumes.
 */
export async function installRuntime(plan: RuntimePlan, options: InstallOptions = {}): Promise<InstalledRuntime> {
  const { pin = LLAMA_RELEASE, signal, onProgress, log = () => undefined, download = {}, requireDevice = false, tryRun = true } = options;
  const root = join(plan.dir, '..');
  const downloads = join(root, 'downloads');
  await mkdir(downloads, { recursive: true });
  const archives: string[] = [];
  for (const [i, f] of plan.files.entries()) {
    const destination = join(downloads, f.name);
    const r = await downloadFile({
      url: f.url,
      destination,
      expected: { bytes: f.bytes, tolerance: 0, sha256: f.sha256 },
      signal,
      log,
      ...download,
      onProgress: (p) => onProgress?.({ ...p, file: f.name, index: i + 1, count: plan.files.length }),
    });
    log(`${f.name}: ${r.alreadyPresent ? 'already downloaded' : `${r.bytes} bytes fetched, sha256 ${r.sha256} (${f.digestFrom})`}`);
    archives.push(destination);
  }
  const staging = `${plan.dir}.new`;
  const parts = `${plan.dir}.parts`;
  await rm(staging, { recursive: true, force: true });
  await rm(parts, { recursive: true, force: true });
  try {
    await unpackArchive(archives[0]!, staging, { keep: isRuntimeFile });
    for (const [i, extra] of archives.slice(1).entries()) {
      const part = join(parts, String(i));
      await mkdir(parts, { recursive: true });
      await unpackArchive(extra, part, { keep: isRuntimeFile });
      await merge(part, staging);
    }
    const executable = join(staging, serverExecutableName(plan.asset.target));
    if (!(await stat(executable).then((s) => s.isFile(), () => false))) {
      throw new RuntimeError('archive', `${plan.files[0]!.name} holds no ${serverExecutableName(plan.asset.target)}`);
    }
    let check: ServerCheck = { version: `not run here (built for ${plan.asset.target})`, devices: [] };
    try {
      if (tryRun) check = await checkServer(executable);
    } catch (err) {
      throw new RuntimeError('broken', `The ${plan.asset.label} runtime does not run on this machine (${errorMessage(err)}). It needs ${plan.asset.needs}.`);
    }
    if (requireDevice && check.devices.length === 0) {
      throw new RuntimeError('broken', `The ${plan.asset.label} runtime runs but sees no GPU here: it needs ${plan.asset.needs}.`);
    }
    const manifest: RuntimeManifest = {
      version: 1,
      release: pin.release,
      tag: plan.tag,
      target: plan.asset.target,
      id: plan.asset.id,
      label: plan.asset.label,
      assets: plan.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256, digestFrom: f.digestFrom })),
      serverVersion: check.version,
      devices: check.devices,
      installedAt: new Date().toISOString(),
    };
    await writeFile(join(staging, MANIFEST), JSON.stringify(manifest, null, 2));
    await rm(plan.dir, { recursive: true, force: true });
    await rename(staging, plan.dir);
    for (const a of archives) await rm(a, { force: true });
    log(`${plan.asset.label} runtime in ${plan.dir}: ${check.version}; devices: ${check.devices.join('; ') || 'CPU only'}`);
    return { dir: plan.dir, executable: join(plan.dir, serverExecutableName(plan.asset.target)), manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(parts, { recursive: true, force: true });
  }
}

function parseManifest(text: string): RuntimeManifest | null {
  try {
    const m = JSON.parse(text) as RuntimeManifest;
    const ok = m.version === 1 && [m.release, m.tag, m.target, m.id, m.label, m.serverVersion].every((v) => typeof v === 'string') && Array.isArray(m.devices) && Array.isArray(m.assets);
    return ok ? m : null;
  } catch {
    return null;
  }
}

/** Runtimes installed for this release and target, newest first (others' folders are ignored). */
export async function installedRuntimes(storagePath: string, target: string, pin: ReleasePin = LLAMA_RELEASE): Promise<InstalledRuntime[]> {
  const root = runtimesRoot(storagePath);
  const out: InstalledRuntime[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(`${pin.release}-`) || name.endsWith('.new') || name.endsWith('.parts')) continue;
    const dir = join(root, name);
    const text = await readFile(join(dir, MANIFEST), 'utf8').catch(() => null);
    const manifest = text && text.length < 1 << 20 ? parseManifest(text) : null;
    if (!manifest || manifest.release !== pin.release || manifest.target !== target) continue;
    out.push({ dir, executable: join(dir, serverExecutableName(target)), manifest });
  }
  return out.sort((a, b) => b.manifest.installedAt.localeCompare(a.manifest.installedAt));
}

export async function removeRuntime(runtime: InstalledRuntime): Promise<void> {
  await rm(runtime.dir, { recursive: true, force: true });
}
