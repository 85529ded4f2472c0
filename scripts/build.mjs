// Builds the bundles (extension host, CLI, the on-demand OpenAI client, the image helpers, the
// webview) and lays out the host's native runtime (sharp, node-screenshots) under
// dist/node_modules so the packaged extension is self-contained. Inference runs in llama.cpp's
// llama-server, a separate executable (dist/llama.cpp/, laid out by scripts/package.mjs).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTarget, layoutRuntime } from './runtime-packages.mjs';

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
 * The OpenAI-compatible client (~150 KB minified), which both engines speak to their server
 * with: the host and CLI bundles load it from dist/openai.js on first use instead of carrying it.
 */
const openaiOnDemand = {
  name: 'openai-on-demand',
  setup(build) {
    build.onResolve({ filter: /^openai$/ }, () => ({ path: './openai.js', external: true }));
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
    // Inference runs in llama-server, never in the host. sharp (images) is native: the host
    // loads it on first use, from dist/node_modules.
    external: ['vscode', 'sharp', 'node-screenshots'],
    plugins: [openaiOnDemand],
  },
  {
    ...common,
    // The headless CLI (bin/internvl-lens) drives the same LocalEngine and llama-server.
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The MCP server's capture_screen loads node-screenshots (native) from dist/node_modules, as the host does.
    external: ['sharp', 'node-screenshots'],
    plugins: [openaiOnDemand],
  },
  {
    ...common,
    // The engines' HTTP client, shared by the host and the CLI (see openaiOnDemand).
    entryPoints: { openai: join(root, 'node_modules', 'openai', 'index.js') },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  {
    ...common,
    // The child process and worker thread the host hands untrusted images to (src/bundledScript.ts finds them).
    entryPoints: { svgRasteriser: 'src/capture/svgRasteriser.ts', bmpDecoder: 'src/images/bmpDecoder.ts' },
    outdir: dist,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['sharp'],
  },
  {
    ...common,
    entryPoints: { webview: 'webview/chat/main.ts', region: 'webview/region/main.ts', diagram: 'webview/diagram/main.ts' },
    outdir: dist,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    // The codicon font ships next to webview.css; the page loads it from the extension (font-src).
    loader: { '.css': 'css', '.ttf': 'file' },
    assetNames: '[name]',
  },
];

/**
 * Lays out this platform's native runtime (sharp + libvips, node-screenshots, and the small JS
 * packages they need) under dist/node_modules; scripts/runtime-packages.mjs
 * lists them per target, and scripts/package.mjs does the same for the other platforms' VSIX.
 */
function copyNativeRuntime() {
  layoutRuntime(hostTarget(), join(dist, 'node_modules'));
  // mermaid's own browser build, loaded by the Mermaid panel next to webview/diagram/main.ts.
  cpSync(join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js'), join(dist, 'mermaid.min.js'));
}

mkdirSync(dist, { recursive: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  copyNativeRuntime();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyNativeRuntime();
}
