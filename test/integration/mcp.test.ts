// `internvl-lens mcp` as an agent runs it: the MCP SDK's own Client and StdioClientTransport spawn
// the built server (dist/cli.js mcp) on the tiny models and the test build of llama-server.
import { strict as assert } from 'node:assert';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as v from 'valibot';
import { labelColour } from '../../src/grounding';
import { GroundingResult } from '../../src/protocol/grounding';
import { OpenAICompatibleServer } from '../fixtures/openai-server';
import { SCRIPTS } from '../fixtures/scripts';
import { decodePng, encodePng, pixelAt, solidImage } from '../fixtures/png';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';
import { ROOT, testLlamaServerPath, tinyModel } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-mcp-'));
const screenshot = join(scratch, 'screen.png');
writeFileSync(screenshot, encodePng(800, 600, solidImage(800, 600, [230, 230, 230, 255])));
const small = join(scratch, 'small.png');
writeFileSync(small, encodePng(64, 64, solidImage(64, 64, [200, 200, 200, 255])));
const corrupt = join(scratch, 'corrupt.png');
// A PNG signature and the start of a header, then garbage: probed as PNG, refused as damaged.
writeFileSync(corrupt, Buffer.concat([encodePng(8, 8, solidImage(8, 8)).subarray(0, 20), Buffer.alloc(64, 0xab)]));
const huge = join(scratch, 'huge.png');
writeFileSync(huge, '');
truncateSync(huge, 60 * 1024 * 1024);

interface Spawned {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
}

/** The built server (dist/cli.js mcp) on a tiny model, its log (--verbose) collected from stderr. */
async function spawnServer(model: 'grounding' | 'endless', extraArgs: string[] = [], env: Record<string, string> = {}): Promise<Spawned> {
  const m = tinyModel(model);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'dist', 'cli.js'), 'mcp', '--model', m.modelPath, '--mmproj', m.mmprojPath, '--threads', '2', '--gpu-layers', '0', '--llama-server', testLlamaServerPath(), '--verbose', ...extraArgs],
    // Only what the test gives: no DISPLAY unless a test adds one.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), ...env },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const client = new Client({ name: 'lens-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => log };
}

function text(result: CallToolResult): string {
  return result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text).join('\n');
}

/** The script's boxes (test/fixtures/scripts.ts), 0..1000 of 800×600, in pixels: x·0.8, y·0.6. */
const EXPECTED_REGIONS = [
  { kind: 'box', label: 'Save button', box: [80, 120, 240, 240], normalized: [0.1, 0.2, 0.3, 0.4] },
  { kind: 'box', label: 'icons', box: [400, 60, 520, 150], normalized: [0.5, 0.1, 0.65, 0.25] },
  { kind: 'box', label: 'icons', box: [560, 360, 720, 570], normalized: [0.7, 0.6, 0.9, 0.95] },
];

const hex = (rgba: readonly number[]) => `#${rgba.slice(0, 3).map((n) => n.toString(16).padStart(2, '0')).join('')}`;

describe('internvl-lens mcp on the tiny grounding model', () => {
  let s: Spawned;
  before(async () => {
    s = await spawnServer('grounding');
  });
  after(() => s.client.close());

  it('initializes and lists its four tools, each with an input and an output schema', async () => {
    assert.equal(s.client.getServerVersion()?.name, 'internvl-lens');
    assert.ok(s.client.getServerCapabilities()?.tools, 'it offers tools');
    const { tools } = await s.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ask_image', 'capture_screen', 'list_monitors', 'locate']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', `${t.name} input schema`);
      assert.equal(t.outputSchema?.type, 'object', `${t.name} output schema`);
    }
    const locate = tools.find((t) => t.name === 'locate')!;
    assert.deepEqual(locate.inputSchema.required, ['image', 'target']);
    assert.equal((locate.outputSchema as { $id?: string }).$id, 'internvl-lens/grounding/v1', 'the public schema (schemas/grounding-result.v1.json)');
  });

  it('locate: regions in the original pixels, a summary, and the annotated PNG with the boxes where the regions say; progress while the model loads', async () => {
    const progress: string[] = [];
    // The client checks structuredContent against the tool's outputSchema itself.
    const result = (await s.client.callTool({ name: 'locate', arguments: { image: screenshot, target: 'the Save button' } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
    })) as CallToolResult;
    assert.equal(result.isError, undefined, text(result));
    const structured = result.structuredContent as { regions: unknown[]; image: { width: number; height: number; path: string } };
    assert.ok(v.safeParse(GroundingResult, structured).success, 'the public grounding schema');
    assert.deepEqual(structured.regions, EXPECTED_REGIONS);
    assert.deepEqual([structured.image.width, structured.image.height, structured.image.path], [800, 600, screenshot]);
    const summary = result.content[0] as { type: string; text: string };
    assert.equal(summary.type, 'text');
    assert.match(summary.text, /^Found 3 regions for "the Save button" in screen\.png \(800×600 px\): Save button at box \[80, 120, 240, 240\]/);
    assert.ok(progress.includes('Loading the model'), `progress: ${progress.join(' | ')}`);
    assert.ok(progress.includes('Encoding the image and the question'), `progress: ${progress.join(' | ')}`);

    const image = result.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
    assert.equal(image.mimeType, 'image/png');
    const png = decodePng(Buffer.from(image.data, 'base64'));
    assert.deepEqual([png.width, png.height], [800, 600]);
    for (const r of EXPECTED_REGIONS) {
      const [x1, y1, x2, y2] = r.box as [number, number, number, number];
      const colour = labelColour(r.label);
      const midY = Math.round((y1 + y2) / 2);
      const midX = Math.round((x1 + x2) / 2);
      // The stroke (2 px at this size) lies just inside the box's edges; the inside is untouched.
      assert.equal(hex(pixelAt(png, x1, midY)), colour, `${r.label} left edge at ${x1},${midY}`);
      assert.equal(hex(pixelAt(png, x2 - 1, midY)), colour, `${r.label} right edge`);
      assert.equal(hex(pixelAt(png, midX, y2 - 1)), colour, `${r.label} bottom edge`);
      assert.equal(hex(pixelAt(png, midX, midY)), '#e6e6e6', `${r.label} inside`);
      assert.equal(hex(pixelAt(png, x1 - 2, midY)), '#e6e6e6', `${r.label} outside`);
    }
  });

  it('a second call (ask_image) reuses the loaded model: llama-server started once, no load reported', async () => {
    const progress: string[] = [];
    const result = (await s.client.callTool({ name: 'ask_image', arguments: { image: screenshot, question: 'What is on it?' } }, undefined, { onprogress: (p) => progress.push(p.message ?? '') })) as CallToolResult;
    assert.equal(result.isError, undefined, text(result));
    assert.equal((result.structuredContent as { answer: string }).answer, tinyModel('grounding').answer);
    assert.ok(!progress.includes('Loading the model'), `no load this time: ${progress.join(' | ')}`);
    assert.equal(s.stderr().match(/started llama-server \d+/g)?.length, 1, s.stderr());
    assert.equal(s.stderr().match(/\] loaded /g)?.length, 1, 'one model load');
  });

  it('refuses a corrupt image, a missing file, a 60 MB file and bad arguments with isError and a clear sentence; the next call works', async () => {
    const call = async (args: Record<string, unknown>) => (await s.client.callTool({ name: 'locate', arguments: args })) as CallToolResult;
    const bad = await call({ image: corrupt, target: 'x' });
    assert.equal(bad.isError, true);
    assert.match(text(bad), /corrupt\.png (looks like a PNG image but its header is damaged|cannot be decoded|is not an image)/);
    const missing = await call({ image: join(scratch, 'nope.png'), target: 'x' });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /The image .*nope\.png cannot be read: ENOENT/);
    const big = await call({ image: huge, target: 'x' });
    assert.equal(big.isError, true);
    assert.match(text(big), /huge\.png is 60\.0 MB; files over 50\.0 MB are refused/);
    const noTarget = await call({ image: screenshot });
    assert.equal(noTarget.isError, true);
    assert.match(text(noTarget), /"target" is required/);
    const stray = await call({ image: screenshot, target: 'x', colour: 'red' });
    assert.equal(stray.isError, true);
    assert.match(text(stray), /"colour" is not an argument of locate; it takes "image", "devicePixelRatio", "maxTokens", "target"/);
    const tooMany = await call({ image: screenshot, target: 'x', maxTokens: 0.5 });
    assert.match(text(tooMany), /"maxTokens" must be a whole number from 1 to 32768, not 0\.5/);
    const ok = await call({ image: screenshot, target: 'the Save button' });
    assert.equal(ok.isError, undefined, text(ok));
  });

  it('capture_screen and list_monitors without a display: isError saying there is no display', async () => {
    for (const name of ['capture_screen', 'list_monitors']) {
      const r = (await s.client.callTool({ name, arguments: {} })) as CallToolResult;
      assert.equal(r.isError, true, name);
      assert.match(text(r), /There is no display to capture: DISPLAY is not set/);
    }
  });
});

describe('internvl-lens mcp: cancellation', () => {
  let s: Spawned;
  before(async () => {
    s = await spawnServer('endless', ['--context', '32768']);
  });
  after(() => s.client.close());

  it('a cancelled call stops generation promptly, and the next call works', async () => {
    const abort = new AbortController();
    let answering = 0;
    const t0 = performance.now();
    const call = s.client.callTool({ name: 'ask_image', arguments: { image: small, question: 'Count forever', maxTokens: 30000 } }, undefined, {
      signal: abort.signal,
      timeout: 120_000,
      onprogress: (p) => {
        // Cancel once the answer is streaming (progress reports its tokens).
        if (/^Answering \(\d+ tokens\)$/.test(p.message ?? '') && ++answering === 1) abort.abort();
      },
    });
    await assert.rejects(call, /abort/i);
    // The server stops the generation itself: its log says so, with far fewer tokens than asked for.
    const line = await waitFor('the server to log the cancelled call', () => /call \d+ \(ask\) cancelled after (\d+) tokens/.exec(s.stderr()), { timeoutMs: 5000 });
    assert.ok(Number(line[1]) < 30000, `stopped after ${line[1]} tokens`);
    assert.ok(performance.now() - t0 < 60_000);
    const next = (await s.client.callTool({ name: 'ask_image', arguments: { image: small, question: 'Again', maxTokens: 5 } })) as CallToolResult;
    assert.equal(next.isError, undefined, text(next));
    assert.ok((next.structuredContent as { answer: string }).answer.startsWith(tinyModel('endless').answer));
  });
});

describe('internvl-lens mcp: capture on a real X display (Xvfb)', () => {
  let x: XDisplay;
  let s: Spawned;
  before(async () => {
    x = await startXDisplay({ width: 640, height: 480 });
    s = await spawnServer('grounding', [], { DISPLAY: x.display });
  });
  after(async () => {
    await s?.client.close();
    await x?.stop();
  });

  it('list_monitors, capture_screen, then locate on the capture: pixels of the screen', async () => {
    const monitors = (await s.client.callTool({ name: 'list_monitors', arguments: {} })) as CallToolResult;
    assert.equal(monitors.isError, undefined, text(monitors));
    const list = (monitors.structuredContent as { monitors: { id: number; width: number; height: number }[] }).monitors;
    assert.equal(list.length, 1);
    assert.deepEqual([list[0]!.width, list[0]!.height], [640, 480]);
    const shot = (await s.client.callTool({ name: 'capture_screen', arguments: { monitor: list[0]!.id } })) as CallToolResult;
    assert.equal(shot.isError, undefined, text(shot));
    const captured = shot.structuredContent as { path: string; width: number; height: number; scaleFactor: number };
    assert.deepEqual([captured.width, captured.height, captured.scaleFactor], [640, 480, 1]);
    const found = (await s.client.callTool({ name: 'locate', arguments: { image: captured.path, target: 'the Save button', devicePixelRatio: captured.scaleFactor } })) as CallToolResult;
    assert.equal(found.isError, undefined, text(found));
    // [100,200,300,400] of 640×480.
    assert.deepEqual((found.structuredContent as { regions: { box: number[] }[] }).regions[0]!.box, [64, 96, 192, 192]);
    const bad = (await s.client.callTool({ name: 'capture_screen', arguments: { monitor: 'left' } })) as CallToolResult;
    assert.equal(bad.isError, true);
    assert.match(text(bad), /"monitor" must be a whole number or "all", not "left"/);
  });
});

describe('internvl-lens mcp with --endpoint (the CLI\'s remote flags)', () => {
  it('locate asks the remote server, with the API key from the environment, and answers in original pixels', async () => {
    const key = 'sk-mcp-0a1b2c3d';
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm', models: ['OpenGVLab/InternVL3-14B'], apiKey: key });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'dist', 'cli.js'), 'mcp', '--endpoint', server.url, '--max-tiles', '6'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', INTERNVL_LENS_API_KEY: key },
    });
    const client = new Client({ name: 'lens-mcp-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      server.replies.push({ kind: 'answer', text: SCRIPTS.grounding.text, promptTokens: 3400 });
      const r = (await client.callTool({ name: 'locate', arguments: { image: screenshot, target: 'the Save button' } })) as CallToolResult;
      assert.equal(r.isError, undefined, text(r));
      assert.deepEqual((r.structuredContent as { regions: unknown[] }).regions, EXPECTED_REGIONS);
      assert.equal(server.chatRequests[0]!.headers.authorization, `Bearer ${key}`);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
