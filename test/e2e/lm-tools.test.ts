// The language-model tools in a real VS Code (code-server): a test extension installed beside
// InternVL Lens calls lens_locate, lens_ask and lens_capture through vscode.lm.invokeTool, as an
// agent's chat extension would, with the tiny grounding model (its scripted boxes are known) and a
// private X display (Xvfb) showing known pixels. Called from an extension (no chat, so no
// invocation token), VS Code asks its confirmation as a modal dialog: the test answers it.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as v from 'valibot';
import { labelColour } from '../../src/grounding';
import { GROUNDING_SCHEMA, GroundingResult } from '../../src/protocol/grounding';
import type { CaptureToolResult } from '../../src/protocol/lmTools';
import { decodePng, encodePng, pixelAt, solidImage } from '../fixtures/png';
import { makeAnimation } from '../fixtures/clips';
import { SCRIPTS } from '../fixtures/scripts';
import { frameIndices } from '../../src/video/sampling';
import { waitFor } from '../fixtures/wait';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { tinyModel } from '../integration/support';
import { runCommand, testExtensionVsix, useLensWorkbench } from './harness';

const IMAGE = { width: 800, height: 500 };
const SCREEN = { width: 1280, height: 800 };
/** A 4K screen: its grid shrinks it over 1.5×, so the default refine (auto) takes a second look. */
const WIDE = { width: 3840, height: 2160 };
const LOGO = { x: 300, y: 200, width: 240, height: 160 };
const GREEN = [0, 192, 0, 255];
const BOXES = SCRIPTS.grounding.regions.flatMap((r) => r.boxes.map((box) => ({ label: r.phrase, box })));
const DIALOG = '.monaco-dialog-box';

/** The scripted boxes in the pixels of a width × height image, as the public schema gives them. */
function expectedRegions(width: number, height: number) {
  return BOXES.map(({ label, box }) => ({
    kind: 'box',
    label,
    box: box.map((n, k) => Math.round((n / 1000) * (k % 2 ? height : width))),
    normalized: box.map((n) => n / 1000),
  }));
}

interface Invoked {
  parts?: { text?: string; other?: string }[];
  tools?: { name: string; tags: string[]; inputSchema: { required?: string[] } }[];
  error?: string;
  name?: string;
}

describe('Language-model tools in a real VS Code', () => {
  const grounding = tinyModel('grounding');
  const outside = mkdtempSync(join(tmpdir(), 'lm-outside-'));
  let x: XDisplay;
  const lens = useLensWorkbench('lm-tools', async (workspace) => {
    x = await startXDisplay(SCREEN);
    x.run('xlogo', ['-bg', '#00c000', '-fg', '#000080', '-geometry', `${LOGO.width}x${LOGO.height}+${LOGO.x}+${LOGO.y}`]);
    const png = encodePng(IMAGE.width, IMAGE.height, solidImage(IMAGE.width, IMAGE.height, [250, 250, 250, 255]));
    writeFileSync(join(workspace, 'screen.png'), png);
    writeFileSync(join(workspace, 'screen-4k.png'), encodePng(WIDE.width, WIDE.height, solidImage(WIDE.width, WIDE.height, [250, 250, 250, 255])));
    writeFileSync(join(outside, 'private.png'), png);
    await makeAnimation(join(workspace, 'steps.gif'), 'gif', [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
    return { model: grounding, env: { DISPLAY: x.display }, extraVsix: [toolClientVsix()] };
  });
  after(async () => {
    await x?.stop();
    rmSync(outside, { recursive: true, force: true });
  });

  let calls = 0;
  /** Has the test extension invoke `tool`; `dialog` answers VS Code's confirmation (which must then appear). */
  async function invoke(tool: string, input: unknown, dialog?: { accept: boolean; says: RegExp }): Promise<Invoked> {
    const out = `lm-result-${++calls}.json`;
    writeFileSync(join(lens.workspace, 'lm-request.json'), JSON.stringify({ tool, input, out }));
    await runCommand(lens.page, 'Lens Tools Client: Invoke', 20_000);
    if (dialog) {
      const box = lens.page.locator(DIALOG);
      await lens.withLogs(box.waitFor({ state: 'visible', timeout: 20_000 }));
      assert.match(await box.innerText(), dialog.says);
      const buttons = box.locator('.dialog-buttons .monaco-button');
      const labels = await buttons.allInnerTexts();
      const cancel = labels.findIndex((l) => /cancel/i.test(l));
      assert.ok(cancel >= 0 && labels.length === 2, `a confirmation: ${JSON.stringify(labels)}`);
      if (dialog.accept) await buttons.nth(1 - cancel).click();
      else await lens.page.keyboard.press('Escape');
      await box.waitFor({ state: 'hidden', timeout: 10_000 });
    }
    const file = join(lens.workspace, out);
    await lens.withLogs(waitFor(`the test extension to write what ${tool} returned (${out})`, () => existsSync(file), { timeoutMs: 90_000, intervalMs: 100 }));
    const result = JSON.parse(readFileSync(file, 'utf8')) as Invoked;
    if (!dialog) assert.equal(await lens.page.locator(DIALOG).count(), 0, `${tool} asked nothing`);
    return result;
  }

  function parts(r: Invoked): [unknown, string] {
    if (r.error !== undefined) assert.fail(`the tool failed: ${r.error}`);
    assert.equal(r.parts?.length, 2, 'two text parts: the JSON and one sentence');
    const [json, sentence] = r.parts!.map((p) => p.text);
    assert.ok(json !== undefined && sentence !== undefined, JSON.stringify(r.parts));
    return [JSON.parse(json), sentence];
  }

  /** Checks a grounding result against the scripted boxes in a width × height image. */
  function checkResult(result: unknown, width: number, height: number): GroundingResult {
    assert.ok(v.safeParse(GroundingResult, result).success, JSON.stringify(result));
    const r = result as GroundingResult;
    assert.equal(r.schema, GROUNDING_SCHEMA);
    assert.deepEqual([r.image.width, r.image.height, r.image.devicePixelRatio], [width, height, 1]);
    assert.equal(r.answer, grounding.answer);
    assert.deepEqual(r.regions, expectedRegions(width, height));
    return r;
  }

  /** The annotated PNG is there, the image's size, with the first box's left edge drawn in its label's colour. */
  function checkAnnotated(path: string | undefined, width: number, height: number): void {
    assert.ok(path && existsSync(path), `annotated PNG at ${path}`);
    const png = decodePng(readFileSync(path));
    assert.deepEqual([png.width, png.height], [width, height]);
    const [x1, y1, , y2] = expectedRegions(width, height)[0]!.box;
    const want = [1, 3, 5].map((k) => parseInt(labelColour('Save button').slice(k, k + 2), 16));
    const got = pixelAt(png, x1!, Math.round((y1! + y2!) / 2)).slice(0, 3);
    assert.ok(got.every((c, k) => Math.abs(c - want[k]!) <= 2), `box edge in its label colour: ${got} vs ${want}`);
    assert.notDeepEqual(pixelAt(png, 2, 2).slice(0, 3), want, 'not everywhere');
  }

  it('lens_locate on a workspace image: the scripted boxes in its pixels, and the annotated PNG; nothing asked', async () => {
    const r = await invoke('lens_locate', { target: 'the Save button', image: 'screen.png' });
    assert.deepEqual(
      r.tools?.map((t) => t.name).sort(),
      ['lens_ask', 'lens_capture', 'lens_locate'],
      'vscode.lm.tools lists the three',
    );
    assert.deepEqual(r.tools?.find((t) => t.name === 'lens_locate')?.inputSchema.required, ['target']);
    const [json, sentence] = parts(r);
    const result = checkResult(json, IMAGE.width, IMAGE.height);
    assert.equal(result.image.path, join(lens.workspace, 'screen.png'));
    checkAnnotated(result.annotatedImage, IMAGE.width, IMAGE.height);
    assert.match(sentence, /^Found 3 regions for "the Save button" in screen\.png \(800×500 px\): Save button at box \[80, 100, 240, 200\]/);
    assert.ok(sentence.includes(result.annotatedImage!), 'the sentence says where the drawing is');
  });

  it('lens_locate on a 4K screenshot: by default (auto) a zoomed-in second look per box, its cost reported, the first pass kept; refine "off" does not', async () => {
    const [json, sentence] = parts(await invoke('lens_locate', { target: 'the Save button', image: 'screen-4k.png' }));
    assert.ok(v.safeParse(GroundingResult, json).success, JSON.stringify(json));
    const r = json as GroundingResult;
    const refinement = r.refinement;
    assert.ok(refinement, 'the result says what the second look did');
    // The first pass is the scripted answer over the whole image, kept as it was.
    assert.deepEqual(refinement.coarse, expectedRegions(WIDE.width, WIDE.height));
    assert.ok(refinement.passes >= 1 && refinement.promptTokens > 0, `passes ${refinement.passes}, ${refinement.promptTokens} prompt tokens`);
    // The scripted model answers the same boxes in each window: a refined box is that answer in
    // the window, not the first pass's box, and lies inside the window it was found in.
    const moved = r.regions.filter((g, i) => refinement.refined[i] && JSON.stringify(g) !== JSON.stringify(refinement.coarse[i]));
    assert.ok(moved.length >= 1, `a refined box differs from its first pass: ${JSON.stringify(r.regions)}`);
    r.regions.forEach((g, i) => {
      const w = refinement.windows[i];
      if (!refinement.refined[i] || !w || g.kind !== 'box') return;
      assert.ok(g.box[0] >= w.x - 1 && g.box[1] >= w.y - 1 && g.box[2] <= w.x + w.width + 1 && g.box[3] <= w.y + w.height + 1, `box ${g.box} inside window ${JSON.stringify(w)}`);
    });
    assert.match(sentence, /^Found 3 regions for "the Save button" in screen-4k\.png \(3840×2160 px\)/);
    const [off] = parts(await invoke('lens_locate', { target: 'the Save button', image: 'screen-4k.png', refine: 'off' }));
    assert.equal((off as GroundingResult).refinement, undefined, 'refine "off": one pass');
    assert.deepEqual((off as GroundingResult).regions, expectedRegions(WIDE.width, WIDE.height));
  });

  it('lens_ask on images given as a list: the answer with its regions in the last image\'s pixels', async () => {
    const [json, sentence] = parts(await invoke('lens_ask', { question: 'Where are the icons?', images: ['screen.png', join(lens.workspace, 'screen.png')] }));
    checkResult(json, IMAGE.width, IMAGE.height);
    assert.match(sentence, /^Answered about screen\.png \(800×500 px\) with 3 regions/);
  });

  it('lens_ask on an animated GIF: its frames, as InternVL samples them, each region on its frame', async () => {
    const [json, sentence] = parts(await invoke('lens_ask', { question: 'What changes?', images: ['steps.gif'] }));
    assert.ok(v.safeParse(GroundingResult, json).success, 'the public grounding schema');
    const r = json as Omit<GroundingResult, 'regions'> & { frames: { index: number }[]; frameTokens: number; regions: { frame: number }[] };
    assert.deepEqual(r.frames.map((f) => f.index), frameIndices({ bound: null, fps: 10, maxFrame: 9 }));
    assert.equal(r.frameTokens, 8 * 258);
    // The grounding script names no frame: its regions are on the last.
    assert.deepEqual(r.regions.map((g) => g.frame), [8, 8, 8]);
    assert.match(sentence, /^Answered about steps\.gif \(96×32 px, 1\.00 s, 8 frames: Frame1 = frame 0 at 0\.00 s/);
  });

  it('bad input and missing files fail with one sentence', async () => {
    const missing = await invoke('lens_locate', { target: 'the Save button', image: 'missing.png' });
    assert.match(missing.error ?? '', new RegExp(`There is no file ${join(lens.workspace, 'missing.png').replace(/[.]/g, '\\.')}\\.`));
    const wrong = await invoke('lens_ask', { question: 42 });
    assert.match(wrong.error ?? '', /lens_ask: "question" must be a string/);
  });

  it('an image outside the workspace is read only when the user allows it', async () => {
    const path = join(outside, 'private.png');
    const says = /read an image outside the workspace[\s\S]*private\.png/;
    const refused = await invoke('lens_locate', { target: 'the Save button', image: path }, { accept: false, says });
    assert.match(`${refused.name} ${refused.error}`, /Cancel/i, 'cancelled');
    const [json] = parts(await invoke('lens_locate', { target: 'the Save button', image: path }, { accept: true, says }));
    assert.equal(checkResult(json, IMAGE.width, IMAGE.height).image.path, path);
  });

  it('lens_capture asks first; allowed, it saves the X display as a PNG of its size; "latest" then locates in it', async () => {
    const says = /take a screenshot[\s\S]*primary monitor/i;
    const refused = await invoke('lens_capture', {}, { accept: false, says });
    assert.match(`${refused.name} ${refused.error}`, /Cancel/i, 'cancelled: nothing captured');

    const [json, sentence] = parts(await invoke('lens_capture', { source: 'screen' }, { accept: true, says }));
    const shot = json as CaptureToolResult;
    assert.deepEqual([shot.width, shot.height, shot.scaleFactor, shot.source], [SCREEN.width, SCREEN.height, 1, 'screen']);
    assert.equal(typeof shot.monitor?.id, 'number', 'which monitor');
    const png = decodePng(readFileSync(shot.path));
    assert.deepEqual([png.width, png.height], [SCREEN.width, SCREEN.height], 'a real PNG of the display');
    assert.deepEqual(pixelAt(png, LOGO.x + 5, LOGO.y + 5), GREEN, 'the xlogo window is in it');
    assert.match(sentence, /1280×800 device pixels, scale 1/);

    const [found] = parts(await invoke('lens_locate', { target: 'the Save button' }));
    const result = checkResult(found, SCREEN.width, SCREEN.height);
    assert.equal(result.image.path, shot.path, '"latest" is the capture');
    checkAnnotated(result.annotatedImage, SCREEN.width, SCREEN.height);
  });

  it('lens_capture of a given region: exactly that rectangle', async () => {
    const region = { x: LOGO.x - 10, y: LOGO.y - 10, width: 70, height: 50 };
    const [json] = parts(await invoke('lens_capture', { source: 'region', region }, { accept: true, says: /70×50 px rectangle at \(290, 190\)/ }));
    const shot = json as CaptureToolResult;
    assert.deepEqual([shot.width, shot.height, shot.source], [70, 50, 'region']);
    const png = decodePng(readFileSync(shot.path));
    assert.deepEqual([png.width, png.height], [70, 50]);
    assert.deepEqual(pixelAt(png, 15, 15), GREEN, 'inside the logo window');
    assert.notDeepEqual(pixelAt(png, 5, 5), GREEN, 'above-left of it');
  });
});

/** The test extension: "Lens Tools Client: Invoke" reads lm-request.json { tool, input, out } and writes what invokeTool gave to `out`. */
function toolClientVsix(): string {
  return testExtensionVsix(
    'lens-tools-client',
    { commands: [{ command: 'lensTools.invoke', title: 'Lens Tools Client: Invoke' }] },
    `const vscode = require('vscode');
exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('lensTools.invoke', async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri;
    const request = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'lm-request.json'))).toString('utf8'));
    let out;
    try {
      const tools = vscode.lm.tools.filter((t) => t.name.startsWith('lens_')).map((t) => ({ name: t.name, tags: t.tags, inputSchema: t.inputSchema }));
      const result = await vscode.lm.invokeTool(request.tool, { input: request.input, toolInvocationToken: undefined }, new vscode.CancellationTokenSource().token);
      out = { tools, parts: result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? { text: p.value } : { other: JSON.stringify(p) })) };
    } catch (err) {
      out = { error: String((err && err.message) || err), name: err && err.name };
    }
    await writeResult(folder, request.out, out);
  }));
};
`,
  );
}
