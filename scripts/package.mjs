// Packages the built extension (dist/) into platform-specific VSIX files with
// `vsce package --target`, each carrying only its platform's native runtime and llama-server.
//   node scripts/package.mjs                        this machine's target → dist/internvl-lens.vsix
//   node scripts/package.mjs --target linux-arm64   → dist/internvl-lens-linux-arm64.vsix (repeatable)
//   node scripts/package.mjs --all                 every target in TARGETS
//   --llama-cpp portable|test|release|none (or LENS_LLAMA_CPP): which llama-server it carries in
//     dist/llama.cpp/ (scripts/llama-server-layout.mjs picks the files):
//     portable  the default: for linux-x64 built here from the bundled source with every CPU
//               variant (scripts/build-llama-server.sh --flavour portable; long once, then cached),
//               for other targets the pinned release's official CPU build (as `release`)
//     test      this machine's native build (the one the tests use; fast to build)
//     release   the official CPU build of the pinned release, downloaded from GitHub with its
//               sha256 checked (src/engine/local/runtimes/), cached in .cache/llama.cpp/
//     none      no llama-server (the extension then needs internvlLens.llamaServerPath or PATH)
// Each target is staged in dist/vsix-stage/<target>/ (manifest, media, bundles, and that target's
// dist/node_modules laid out by runtime-packages.mjs), so dist/node_modules, which the tests
// run from, is left as it is. Other platforms' packages are fetched with `npm pack` (cached).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';
import { layoutLlamaServer, packLlamaServer } from './llama-server-layout.mjs';
import { hostTarget, layoutRuntime, ROOT, TARGETS } from './runtime-packages.mjs';
import { readVsix } from './vsix-contents.mjs';

/** Files of the repository root and dist/ a VSIX stage needs (.vscodeignore then picks from them). */
const ROOT_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.vscodeignore'];

/**
 * Most a default (CPU) VSIX may weigh, any target. linux-x64 measured: libvips 7.8 MiB, the
 * portable llama-server 5.2 MiB packed solid (29.5 MiB unpacked, 14 CPU variants; 11.6 MiB as
 * separate zip entries), node-screenshots 1.2 MiB, bundles and media 1.9 MiB: 16.5 MiB. GPU
 * builds do not fit: they are downloaded on request (src/engine/local/runtimes/).
 */
export const VSIX_BUDGET_BYTES = 18 * 1048576;

export const LLAMA_CPP_BUILDS = ['portable', 'test', 'release', 'none'];
/** Where `release` keeps what it downloaded (runtimes/<release>-<asset>/, as the extension does). */
export const LLAMA_CPP_CACHE = join(ROOT, '.cache', 'llama.cpp');

const runtimeModule = (name) => tsImport(`../src/engine/local/runtimes/${name}.ts`, import.meta.url);

/** Runs scripts/build-llama-server.sh; its last line is the bin/ folder. */
function buildLlamaServer(flavour) {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-llama-server.sh'), '--flavour', flavour], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = (r.stdout ?? '').trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(l);
  if (r.status !== 0) throw new Error(`scripts/build-llama-server.sh --flavour ${flavour} failed (${r.status})`);
  const bin = lines.at(-1);
  // .tools/llama.cpp/<flavour>-<release>-<key>/build/bin → its src/LICENSE.
  return { binDir: bin, licence: join(dirname(dirname(bin)), 'src', 'LICENSE') };
}

/**
 * The pinned release's CPU build for `target`, downloaded once into LLAMA_CPP_CACHE with the
 * extension's own code (GitHub's digest checked; `source` points it at a mirror in tests).
 */
async function releaseBuild(target, source, cacheDir) {
  const [{ cpuAsset }, install, metadata] = await Promise.all([runtimeModule('release'), runtimeModule('install'), runtimeModule('metadata')]);
  const asset = cpuAsset(target);
  const have = (await install.installedRuntimes(cacheDir, target)).find((r) => r.manifest.id === asset.id);
  if (have) return { binDir: have.dir, licence: null };
  const plan = await install.planRuntime(asset, cacheDir, { source: source ?? metadata.GITHUB });
  console.log(`  fetching llama.cpp ${plan.tag} for ${target}: ${plan.files.map((f) => `${f.name} (${(f.bytes / 1048576).toFixed(1)} MiB, sha256 ${f.digestFrom})`).join(', ')}`);
  const installed = await install.installRuntime(plan, { tryRun: target === hostTarget(), log: () => undefined });
  return { binDir: installed.dir, licence: null };
}

/** Lays out the chosen llama-server build for `target` in `dest`; null for `none`. */
export async function stageLlamaServer(target, build, dest, { releaseSource, cacheDir = LLAMA_CPP_CACHE } = {}) {
  // cacheDir holds release downloads (runtimes/) and packed builds (blobs/).
  if (!LLAMA_CPP_BUILDS.includes(build)) throw new Error(`--llama-cpp ${build}: one of ${LLAMA_CPP_BUILDS.join(', ')}`);
  if (build === 'none') return null;
  if (build === 'test' && target !== hostTarget()) throw new Error(`the test build of llama.cpp runs on this machine only (${hostTarget()}), not ${target}`);
  const builtHere = build === 'test' || (build === 'portable' && target === 'linux-x64' && hostTarget() === 'linux-x64');
  const from = builtHere ? buildLlamaServer(build) : await releaseBuild(target, releaseSource, cacheDir);
  const [{ serverExecutableName, LLAMA_RELEASE }, { BUNDLE_BLOB, BUNDLE_MANIFEST }] = await Promise.all([runtimeModule('release'), runtimeModule('bundled')]);
  const executable = serverExecutableName(target);
  const flat = `${dest}.files`;
  const laid = layoutLlamaServer(from.binDir, flat, target, { executable, licence: from.licence });
  const kind = builtHere ? build : 'release';
  const t0 = Date.now();
  // The test build is repackaged by every e2e run: a quick brotli; what ships gets the best.
  const manifest = packLlamaServer(flat, dest, { names: { blob: BUNDLE_BLOB, manifest: BUNDLE_MANIFEST }, executable, release: LLAMA_RELEASE.release, build: kind, quality: kind === 'test' ? 5 : 11, cacheDir });
  rmSync(flat, { recursive: true, force: true });
  console.log(`  llama.cpp ${kind}: ${laid.files.length} files, ${(manifest.unpackedBytes / 1048576).toFixed(1)} MiB → ${(manifest.packedBytes / 1048576).toFixed(2)} MiB packed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { build: kind, ...laid, bytes: manifest.unpackedBytes, packedBytes: manifest.packedBytes };
}

export function vsixPath(target) {
  return join(ROOT, 'dist', `internvl-lens-${target}.vsix`);
}

/** Stages and packages one target; returns the VSIX path, its size and the llama-server it carries. */
export async function packageTarget(target, { out = vsixPath(target), llamaCpp = process.env.LENS_LLAMA_CPP || 'portable', releaseSource, cacheDir } = {}) {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'extension.js'))) throw new Error('dist/extension.js is missing: run node scripts/build.mjs first');
  const stage = join(dist, 'vsix-stage', target);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'dist'), { recursive: true });
  for (const f of ROOT_FILES) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(stage, f));
  cpSync(join(ROOT, 'media'), join(stage, 'media'), { recursive: true });
  for (const f of readdirSync(dist)) {
    const p = join(dist, f);
    if (statSync(p).isFile() && !f.endsWith('.vsix')) cpSync(p, join(stage, 'dist', f));
  }
  const pkgs = layoutRuntime(target, join(stage, 'dist', 'node_modules'));
  const llama = await stageLlamaServer(target, llamaCpp, join(stage, 'dist', 'llama.cpp'), { releaseSource, cacheDir });
  const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--target', target, '--out', out], {
    cwd: stage,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vsce package --target ${target} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  rmSync(stage, { recursive: true, force: true });
  return { target, out, bytes: statSync(out).size, entries: readVsix(out).length, packages: pkgs, llamaCpp: llama };
}

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      'llama-cpp': { type: 'string' },
    },
  });
  const llamaCpp = values['llama-cpp'] ?? process.env.LENS_LLAMA_CPP ?? 'portable';
  const jobs = values.all
    ? TARGETS.map((t) => ({ target: t, out: vsixPath(t) }))
    : values.target
      ? values.target.map((t) => ({ target: t, out: vsixPath(t) }))
      : // The default: the VSIX the e2e tests install, for this machine.
        [{ target: hostTarget(), out: join(ROOT, 'dist', 'internvl-lens.vsix') }];
  for (const { target, out } of jobs) {
    const t0 = Date.now();
    const r = await packageTarget(target, { out, llamaCpp });
    const llama = r.llamaCpp ? `llama.cpp ${r.llamaCpp.build} (${(r.llamaCpp.packedBytes / 1048576).toFixed(2)} MiB packed)` : 'no llama.cpp';
    console.log(`${target}: ${(r.bytes / 1048576).toFixed(2)} MiB, ${r.entries} files, ${llama} → ${r.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
