// The platform-specific VSIX files: what they hold, for which platform, and how much they weigh.
// dist/internvl-lens.vsix (this machine's target, packaged by the e2e preparation with the test
// build of llama.cpp: `package.mjs --llama-cpp test`) and one foreign target packaged here
// (linux-arm64: its prebuilt packages come from the npm registry with `npm pack`, cached in
// .cache/native-runtimes; every target is built by `npm run package:all`). The foreign VSIX is
// packaged without llama.cpp: its build comes from GitHub, which this machine cannot reach; that
// download is tested against a mirror on 127.0.0.1 (test/integration/runtimes-package.test.ts).
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { encodePng, solidImage } from '../fixtures/png';
import { tinyModel } from '../integration/support';
import { describe, it } from 'node:test';
import { packageTarget, VSIX_BUDGET_BYTES } from '../../scripts/package.mjs';
import { hostTarget, runtimePackages } from '../../scripts/runtime-packages.mjs';
import { nativeBinaryTarget, readVsix } from '../../scripts/vsix-contents.mjs';
import { checkLlamaContents, LLAMA_DIR } from '../fixtures/llama-contents';
import { REPO_ROOT } from './harness';

const MiB = 1048576;
/** What the extension loads from dist/, and the CLI agents run (sourcemaps and stage leftovers stay out). */
const BUNDLES = ['extension.js', 'cli.js', 'svgRasteriser.js', 'bmpDecoder.js', 'webview.js', 'webview.css', 'region.js', 'region.css', 'diagram.js', 'mermaid.min.js', 'openai.js', 'codicon.ttf'];

/**
 * The native libraries every target must carry, one each, as path patterns under dist/node_modules
 * (inference is llama-server's, under dist/llama.cpp/: no Node binding of llama.cpp is shipped).
 */
function requiredNatives(target: string): RegExp[] {
  const [os] = target.split('-');
  return [
    new RegExp(`^@img/sharp-${target}/lib/sharp-${target}-[\\d.]+\\.node$`),
    os === 'win32' ? /^@img\/sharp-win32-x64\/lib\/libvips-cpp-[\d.]+\.dll$/ : new RegExp(`^@img/sharp-libvips-${target}/lib/libvips-cpp\\.`),
    new RegExp(`^node-screenshots-${target}(-gnu|-msvc)?/node-screenshots\\.${target}(-gnu|-msvc)?\\.node$`),
  ];
}

/** Checks one VSIX against its target; returns its size in bytes. */
async function checkVsix(file: string, target: string, { llamaCpp }: { llamaCpp: boolean }): Promise<number> {
  assert.ok(existsSync(file), `${file} exists`);
  const entries = readVsix(file);
  const names = entries.map((e) => e.name);
  const manifest = entries.find((e) => e.name === 'extension.vsixmanifest')!.read().toString('utf8');
  assert.match(manifest, new RegExp(`TargetPlatform="${target}"`), 'the manifest names its target platform');

  const packages = runtimePackages(target);
  const stray = names.filter((n) => {
    if (n === 'extension.vsixmanifest' || n === '[Content_Types].xml') return false;
    if (['extension/package.json', 'extension/readme.md', 'extension/LICENSE.txt', 'extension/changelog.md'].includes(n)) return false;
    if (n.startsWith('extension/media/')) return false;
    if (BUNDLES.some((b) => n === `extension/dist/${b}`)) return false;
    if (llamaCpp && n.startsWith(LLAMA_DIR)) return false;
    const inModules = n.startsWith('extension/dist/node_modules/') ? n.slice('extension/dist/node_modules/'.length) : null;
    return inModules === null || !packages.some((p) => inModules.startsWith(`${p}/`));
  });
  assert.deepEqual(stray, [], `only the manifest, media, the bundles${llamaCpp ? ', llama-server' : ''} and this target's runtime packages`);
  const sources = names.filter((n) => /\.(ts|mts|cts|map|cc|cpp|h)$|\/(src|test|scripts)\//.test(n) || n.includes('CMakeLists'));
  assert.deepEqual(sources, [], 'no sources, tests, maps or build scripts');
  for (const pkg of packages) assert.ok(names.some((n) => n.startsWith(`extension/dist/node_modules/${pkg}/`)), `${pkg} is in it`);

  // Every binary in the package is for this target, and each native library is there once.
  const natives = entries
    .filter((e) => e.size >= 64)
    .map((e) => ({ name: e.name.slice('extension/dist/node_modules/'.length), built: nativeBinaryTarget(e.read()) }))
    .filter((e) => e.built !== null);
  const foreign = natives.filter((n) => n.built !== target);
  assert.deepEqual(foreign, [], `every native binary is built for ${target}`);
  for (const re of requiredNatives(target)) {
    assert.equal(natives.filter((n) => re.test(n.name)).length, 1, `one ${re} (natives: ${natives.map((n) => n.name).join(', ')})`);
  }

  if (llamaCpp) {
    const llama = await checkLlamaContents(entries, target, { run: target === hostTarget() });
    const packed = entries.find((e) => e.name === `${LLAMA_DIR}llama.cpp.tar.br`)!;
    console.log(
      `${target}: llama.cpp ${llama.manifest.build} ${llama.version ?? '(not run here)'}; ${(packed.size / MiB).toFixed(2)} MiB packed, ${(llama.manifest.unpackedBytes / MiB).toFixed(1)} MiB unpacked; ${llama.files.join(', ')}`,
    );
  }

  const bytes = readFileSync(file).length;
  assert.ok(bytes <= VSIX_BUDGET_BYTES, `${target}: ${(bytes / MiB).toFixed(2)} MiB within the ${(VSIX_BUDGET_BYTES / MiB).toFixed(0)} MiB budget`);
  return bytes;
}

describe('platform-specific VSIX', () => {
  it(`dist/internvl-lens.vsix carries only ${hostTarget()}'s native runtime and a llama-server that runs from it, no sources, within budget`, async () => {
    const bytes = await checkVsix(join(REPO_ROOT, 'dist', 'internvl-lens.vsix'), hostTarget(), { llamaCpp: true });
    console.log(`${hostTarget()}: ${(bytes / MiB).toFixed(2)} MiB`);
  });

  it('a foreign target (linux-arm64) gets its own prebuilt binaries and nothing of this machine\'s', async () => {
    const foreign = hostTarget() === 'linux-arm64' ? 'linux-x64' : 'linux-arm64';
    const { out, bytes, entries } = await packageTarget(foreign, { llamaCpp: 'none' });
    assert.equal(await checkVsix(out, foreign, { llamaCpp: false }), bytes);
    assert.ok(!readVsix(out).some((e) => e.name.startsWith(LLAMA_DIR)), '--llama-cpp none: no llama-server');
    console.log(`${foreign}: ${(bytes / MiB).toFixed(2)} MiB, ${entries} files`);
  });

  it('the packed CLI runs the MCP server (Set Up MCP Server… points agents at it): locate answers on the VSIX\'s own llama-server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lens-vsix-mcp-'));
    for (const e of readVsix(join(REPO_ROOT, 'dist', 'internvl-lens.vsix'))) {
      if (!e.name.startsWith('extension/') || e.name.endsWith('/')) continue;
      const path = join(dir, e.name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, e.read());
      if (e.mode & 0o111) chmodSync(path, e.mode & 0o777);
    }
    const image = join(dir, 'screen.png');
    writeFileSync(image, encodePng(400, 300, solidImage(400, 300, [230, 230, 230, 255])));
    const m = tinyModel('grounding');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(dir, 'extension', 'dist', 'cli.js'), 'mcp', '--model', m.modelPath, '--mmproj', m.mmprojPath, '--threads', '2', '--gpu-layers', '0'],
      // The built-in llama-server unpacks into this cache, not the user's.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', XDG_CACHE_HOME: join(dir, 'cache') },
    });
    const client = new Client({ name: 'vsix-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.equal((await client.listTools()).tools.length, 4);
      const r = (await client.callTool({ name: 'locate', arguments: { image, target: 'the Save button' } })) as CallToolResult;
      assert.equal(r.isError, undefined, JSON.stringify(r.content));
      assert.deepEqual((r.structuredContent as { regions: { box: number[] }[] }).regions[0]!.box, [40, 60, 120, 120]);
    } finally {
      await client.close();
    }
  });
});
