// Packages the built extension (dist/) into platform-specific VSIX files with
// `vsce package --target`, each carrying only its platform's native runtime.
//   node scripts/package.mjs                        this machine's target → dist/internvl-lens.vsix
//   node scripts/package.mjs --target linux-arm64   → dist/internvl-lens-linux-arm64.vsix (repeatable)
//   node scripts/package.mjs --all                 every target in TARGETS
//   node scripts/package.mjs --target linux-x64 --gpu vulkan   adds llama.cpp's Vulkan build
// Each target is staged in dist/vsix-stage/<target>/ (manifest, media, bundles, and that target's
// dist/node_modules laid out by runtime-packages.mjs), so dist/node_modules, which the tests
// run from, is left as it is. Other platforms' packages are fetched with `npm pack` (cached).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hostTarget, layoutRuntime, ROOT, TARGETS } from './runtime-packages.mjs';
import { readVsix } from './vsix-contents.mjs';

/** Files of the repository root and dist/ a VSIX stage needs (.vscodeignore then picks from them). */
const ROOT_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.vscodeignore'];

/**
 * Most a default (CPU) VSIX may weigh, any target. Measured 13.8–15.1 MiB: the llama.cpp binding
 * ~4 MiB, libvips ~8 MiB, mermaid ~1.5 MiB compressed; a GPU build does not fit and is left out.
 */
export const VSIX_BUDGET_BYTES = 18 * 1048576;

export function vsixPath(target, gpu = []) {
  return join(ROOT, 'dist', `internvl-lens-${target}${gpu.map((g) => `-${g}`).join('')}.vsix`);
}

/** Stages and packages one target; returns the VSIX path and its size. */
export function packageTarget(target, { out = vsixPath(target), gpu = [] } = {}) {
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
  const pkgs = layoutRuntime(target, join(stage, 'dist', 'node_modules'), { gpu });
  const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--target', target, '--out', out], {
    cwd: stage,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vsce package --target ${target} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  rmSync(stage, { recursive: true, force: true });
  return { target, out, bytes: statSync(out).size, entries: readVsix(out).length, packages: pkgs };
}

function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      gpu: { type: 'string', multiple: true },
    },
  });
  const gpu = values.gpu ?? [];
  const jobs = values.all
    ? TARGETS.map((t) => ({ target: t, out: vsixPath(t, gpu) }))
    : values.target
      ? values.target.map((t) => ({ target: t, out: vsixPath(t, gpu) }))
      : // The default: the VSIX the e2e tests install, for this machine.
        [{ target: hostTarget(), out: join(ROOT, 'dist', 'internvl-lens.vsix') }];
  for (const { target, out } of jobs) {
    const t0 = Date.now();
    const r = packageTarget(target, { out, gpu });
    console.log(`${target}: ${(r.bytes / 1048576).toFixed(2)} MiB, ${r.entries} files → ${r.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
