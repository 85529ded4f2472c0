// The llama-server the VSIX carries: dist/llama.cpp/llama.cpp.tar.br (llama-server, its libraries
// and every CPU variant, packed solid by scripts/package.mjs — a zip compresses each file alone,
// and the 13 variants share most of their bytes) with bundle.json describing it. It is unpacked
// once per version into the global storage (runtimes/<release>-builtin-<sha256>/), checked against
// the digest bundle.json records. A development build (scripts/build.mjs) may instead put the
// files themselves in dist/llama.cpp/: then those are used where they are.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackArchive } from './archive';
import { RuntimeError } from './errors';
import { runtimesRoot } from './install';

export const BUNDLE_BLOB = 'llama.cpp.tar.br';
export const BUNDLE_MANIFEST = 'bundle.json';

export interface BundleManifest {
  version: 1;
  release: string;
  /** portable, test or release (see scripts/package.mjs --llama-cpp). */
  build: string;
  executable: string;
  sha256: string;
  packedBytes: number;
  unpackedBytes: number;
  files: Array<{ name: string; bytes: number }>;
}

export function bundleDir(extensionPath: string): string {
  return join(extensionPath, 'dist', 'llama.cpp');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

export async function readBundleManifest(extensionPath: string): Promise<BundleManifest | null> {
  const text = await readFile(join(bundleDir(extensionPath), BUNDLE_MANIFEST), 'utf8').catch(() => null);
  if (text === null) return null;
  let m: BundleManifest;
  try {
    m = JSON.parse(text.slice(0, 1 << 20)) as BundleManifest;
  } catch {
    throw new RuntimeError('broken', `${join(bundleDir(extensionPath), BUNDLE_MANIFEST)} is damaged: reinstall InternVL Lens.`);
  }
  if (m.version !== 1 || !/^[0-9a-f]{64}$/.test(m.sha256 ?? '') || !/^llama-server(\.exe)?$/.test(m.executable ?? '') || !Array.isArray(m.files)) {
    throw new RuntimeError('broken', `${join(bundleDir(extensionPath), BUNDLE_MANIFEST)} is not one this version of InternVL Lens wrote: reinstall it.`);
  }
  return m;
}

/**
 * The built-in llama-server's path, unpacking the packed build first when this version's is not
 * unpacked yet (and removing older versions' folders); null when the extension carries none.
 */
export async function bundledServer(extensionPath: string, storagePath: string, executableName: string, log: (m: string) => void = () => undefined): Promise<string | null> {
  const plain = join(bundleDir(extensionPath), executableName);
  if (await isFile(plain)) return plain;
  const manifest = await readBundleManifest(extensionPath);
  if (!manifest) return null;
  const root = runtimesRoot(storagePath);
  const name = `${manifest.release}-builtin-${manifest.sha256.slice(0, 16)}`;
  const dir = join(root, name);
  const executable = join(dir, manifest.executable);
  if (await isFile(executable)) return executable;
  const blob = join(bundleDir(extensionPath), BUNDLE_BLOB);
  const actual = await sha256File(blob).catch((err: Error) => {
    throw new RuntimeError('broken', `The built-in llama-server (${blob}) cannot be read: ${err.message}. Reinstall InternVL Lens.`);
  });
  if (actual !== manifest.sha256) throw new RuntimeError('broken', `The built-in llama-server (${blob}) is damaged (sha256 ${actual.slice(0, 12)}…, expected ${manifest.sha256.slice(0, 12)}…): reinstall InternVL Lens.`);
  const t0 = Date.now();
  try {
    await unpackArchive(blob, dir, { maxBytes: manifest.unpackedBytes + 2 ** 20, maxEntries: manifest.files.length + 8 });
  } catch (err) {
    // Another window unpacked the same build first: its folder is complete (it was renamed into place).
    if (!(await isFile(executable))) throw err;
  }
  log(`unpacked the built-in llama.cpp ${manifest.release} (${manifest.build}, ${manifest.files.length} files) into ${dir} in ${Date.now() - t0} ms`);
  for (const other of await readdir(root).catch(() => [] as string[])) {
    if (other.includes('-builtin-') && other !== name && !other.includes('.unpacking-')) await rm(join(root, other), { recursive: true, force: true }).catch(() => undefined);
  }
  return executable;
}
