// The native runtime each platform-specific VSIX carries under dist/node_modules (image decoding
// and screen capture; inference runs in llama-server, laid out by llama-server-layout.mjs), and where its
// packages come from: this machine's node_modules for its own platform, otherwise the exact
// versions from package-lock.json fetched with `npm pack` into .cache/native-runtimes (checked
// against the lockfile's integrity, never installed into node_modules).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, '.cache', 'native-runtimes');

/** The targets we publish (`vsce package --target`). */
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];

/** This machine's target, e.g. linux-x64. */
export function hostTarget() {
  return `${process.platform}-${process.arch}`;
}

/** Pure-JS packages the native ones need at run time (same files on every platform). */
const SHARED = ['sharp', 'detect-libc', 'semver', '@img/colour', 'node-screenshots'];

/**
 * Every package under dist/node_modules for `target`: the shared JS packages plus exactly one
 * prebuilt binary package per native library (sharp + libvips, node-screenshots). Inference is
 * not among them: it runs in llama-server (dist/llama.cpp/).
 */
export function runtimePackages(target) {
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target}; one of ${TARGETS.join(', ')}`);
  const [os] = target.split('-');
  const screenshotsAbi = { linux: '-gnu', win32: '-msvc', darwin: '' }[os];
  return [
    ...SHARED,
    `@img/sharp-${target}`,
    // On Windows libvips is inside the sharp binary package.
    ...(os === 'win32' ? [] : [`@img/sharp-libvips-${target}`]),
    `node-screenshots-${target}${screenshotsAbi}`,
  ];
}

let lock;
/** name → { version, integrity } from package-lock.json. */
export function lockedPackage(name) {
  lock ??= JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry?.version) throw new Error(`${name} is not in package-lock.json`);
  return { version: entry.version, integrity: entry.integrity };
}

/** C++ sources, build and install scripts, TypeScript sources and maps: needed only to build a package. */
const NOT_AT_RUN_TIME = /[/\\](src|scripts|install|CMakeLists\.txt|binding\.gyp|[^/\\]+\.(ts|mts|cts|map|h))$/i;

/** Folder holding `name` at its locked version: node_modules when installed there (this machine's packages), else the pack cache. */
export function packageSource(name) {
  const { version, integrity } = lockedPackage(name);
  const installed = join(ROOT, 'node_modules', name);
  if (existsSync(join(installed, 'package.json')) && JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version === version) {
    return installed;
  }
  return fetchPackage(name, version, integrity);
}

/** `npm pack name@version` into the cache, checked against the lockfile's integrity, unpacked once. */
export function fetchPackage(name, version, integrity) {
  const dir = join(CACHE_DIR, `${name.replace('/', '+')}@${version}`);
  if (existsSync(join(dir, 'package', 'package.json'))) return join(dir, 'package');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', dir, '--json', '--silent'], {
    cwd: dir,
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) throw new Error(`npm pack ${name}@${version} failed (${r.status}): ${r.stderr}`);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${name}@${version} wrote no tarball`);
  const bytes = readFileSync(join(dir, tgz));
  const [algo, expected] = integrity.split('-');
  const actual = createHash(algo).update(bytes).digest('base64');
  if (actual !== expected) throw new Error(`${name}@${version}: integrity mismatch (lockfile ${integrity}, got ${algo}-${actual})`);
  const unpack = join(dir, 'unpacking');
  mkdirSync(unpack);
  const x = spawnSync('tar', ['-xzf', join(dir, tgz), '-C', unpack], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`unpacking ${tgz} failed: ${x.stderr}`);
  renameSync(join(unpack, 'package'), join(dir, 'package'));
  rmSync(unpack, { recursive: true, force: true });
  rmSync(join(dir, tgz));
  console.log(`  fetched ${name}@${version} (${(bytes.length / 1048576).toFixed(1)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return join(dir, 'package');
}

/** Lays out `target`'s runtime packages in `destNodeModules` (emptied first). */
export function layoutRuntime(target, destNodeModules) {
  rmSync(destNodeModules, { recursive: true, force: true });
  mkdirSync(destNodeModules, { recursive: true });
  const pkgs = runtimePackages(target);
  for (const name of pkgs) {
    const from = packageSource(name);
    cpSync(from, join(destNodeModules, name), { recursive: true, filter: (p) => p === from || !NOT_AT_RUN_TIME.test(p.slice(from.length)) });
  }
  return pkgs;
}
