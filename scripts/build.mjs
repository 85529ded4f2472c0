// Builds the three bundles (extension host, inference worker, webview) and lays out the
// worker's native runtime under dist/node_modules so the packaged extension is self-contained.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
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

/**
 * node-llama-cpp's index loads its native bindings and uses top-level await, so it can neither
 * ship nor be bundled as CJS. The host only needs its pure-JS GGUF reader: bundle just that file.
 */
const ggufReaderOnly = {
  name: 'node-llama-cpp-gguf-reader',
  setup(build) {
    build.onResolve({ filter: /^node-llama-cpp$/ }, () => ({
      path: join(root, 'node_modules', 'node-llama-cpp', 'dist', 'gguf', 'readGgufFileInfo.js'),
    }));
  },
};

const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The host never loads the native inference library: only the worker does. sharp (images)
    // is native too: the host loads it on first use, from dist/node_modules.
    external: ['vscode', '@fugood/llama.node', 'sharp', 'node-screenshots'],
    plugins: [ggufReaderOnly],
  },
  {
    ...common,
    // The headless CLI (bin/internvl-lens) drives the same LocalEngine and worker.
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@fugood/llama.node', 'sharp'],
    plugins: [ggufReaderOnly],
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
    entryPoints: { webview: 'webview/main.ts', region: 'webview/region.ts', diagram: 'webview/diagram.ts' },
    outdir: dist,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    // The codicon font ships next to webview.css; the page loads it from the extension (font-src).
    loader: { '.css': 'css', '.ttf': 'file' },
    assetNames: '[name]',
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

/** Copies sharp, its small JS dependencies and this platform's prebuilt @img binaries. */
function copyImageRuntime() {
  const pkgs = ['sharp', 'detect-libc', 'semver', '@img/colour'];
  for (const libc of [process.platform, `${process.platform}musl`]) {
    pkgs.push(`@img/sharp-${libc}-${process.arch}`, `@img/sharp-libvips-${libc}-${process.arch}`);
  }
  for (const pkg of pkgs) {
    const from = join(root, 'node_modules', pkg);
    if (!existsSync(from)) {
      if (pkg.startsWith('@img/sharp-')) continue; // the other libc's build, or libvips inside the binary package
      throw new Error(`missing ${from}: run npm ci`);
    }
    // sharp's C++ sources and install scripts are not needed at run time.
    cpSync(from, join(dist, 'node_modules', pkg), { recursive: true, filter: (p) => p === from || !/[/\\](src|install)$/.test(p) });
  }
  if (!existsSync(join(dist, 'node_modules', '@img', `sharp-${process.platform}-${process.arch}`)) && !existsSync(join(dist, 'node_modules', '@img', `sharp-${process.platform}musl-${process.arch}`))) {
    throw new Error(`no prebuilt sharp for ${process.platform}-${process.arch}: run npm ci`);
  }
}

/** Copies node-screenshots (the host loads it on the first capture), this platform's binary package, and mermaid's browser build. */
function copyCaptureRuntime() {
  const modules = join(root, 'node_modules');
  const pkgs = readdirSync(modules).filter((n) => n === 'node-screenshots' || n.startsWith('node-screenshots-'));
  if (pkgs.length < 2) throw new Error(`missing node-screenshots or its ${process.platform}-${process.arch} package: run npm ci`);
  for (const pkg of pkgs) cpSync(join(modules, pkg), join(dist, 'node_modules', pkg), { recursive: true });
  // mermaid's own browser build, loaded by the Mermaid panel next to webview/diagram.ts.
  cpSync(join(modules, 'mermaid', 'dist', 'mermaid.min.js'), join(dist, 'mermaid.min.js'));
}

mkdirSync(dist, { recursive: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  copyNativeRuntime();
  copyImageRuntime();
  copyCaptureRuntime();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyNativeRuntime();
  copyImageRuntime();
  copyCaptureRuntime();
}
