// Builds the three bundles (extension host, inference worker, webview) and lays out the
// worker's native runtime under dist/node_modules so the packaged extension is self-contained.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};

const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The host never loads the native inference library: only the worker does.
    external: ['vscode', '@fugood/llama.node'],
  },
  {
    ...common,
    entryPoints: { worker: 'src/worker/main.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@fugood/llama.node'],
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: dist,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  },
];

/** Copies @fugood/llama.node and this platform's CPU binary package next to the worker bundle. */
function copyNativeRuntime() {
  const target = join(dist, 'node_modules', '@fugood');
  rmSync(join(dist, 'node_modules'), { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const src = join(root, 'node_modules', '@fugood');
  const pkgs = ['llama.node', `node-llama-${process.platform}-${process.arch}`];
  for (const pkg of pkgs) {
    const from = join(src, pkg);
    if (!existsSync(from)) throw new Error(`missing ${from}: run npm ci`);
    cpSync(from, join(target, pkg), {
      recursive: true,
      // The binding's C++ and TypeScript sources and build scripts are not needed at run time.
      filter: (p) => p === from || !/[/\\](src|scripts|CMakeLists\.txt|[^/\\]+\.ts)$/.test(p),
    });
  }
}

mkdirSync(dist, { recursive: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  copyNativeRuntime();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyNativeRuntime();
}
