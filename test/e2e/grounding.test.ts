// Grounding in a real VS Code (code-server): "Locate Element…" on the image open in the editor,
// boxes drawn over it with the tile cost shown, hover links, click-to-copy through the host, and
// "Export PNG" writing the annotated image at original resolution.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { explorerItem, QUICK_INPUT, runCommand, screenshot, testExtensionVsix, useLensWorkbench } from './harness';
import * as v from 'valibot';
import { labelColour } from '../../src/grounding';
import { GROUNDING_SCHEMA, GroundingResult } from '../../src/protocol/grounding';
import { loadSharp } from '../../src/images/prepare';
import { regionImageBox } from '../webview/overlay-pixels';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from '../integration/support';
import { waitFor } from '../fixtures/wait';

const IMAGE = { width: 800, height: 500 };
const BOXES = SCRIPTS.grounding.regions.flatMap((r) => r.boxes.map((box) => ({ label: r.phrase, box })));

describe('Grounding in a real VS Code', () => {
  const grounding = tinyModel('grounding');
  const lens = useLensWorkbench('grounding', (workspace) => {
    writeFileSync(join(workspace, 'screen.png'), encodePng(IMAGE.width, IMAGE.height, solidImage(IMAGE.width, IMAGE.height, [250, 250, 250, 255])));
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    return { model: grounding, extraVsix: [clientExtensionVsix()] };
  });
  const chat = (): Promise<Frame> => lens.chat();

  it('Locate Element… answers with boxes over the open image; hover, copy and export work through the host', async () => {
    await explorerItem(lens.page, 'screen.png').dblclick();
    await lens.page.locator('.tabs-container .tab.active', { hasText: 'screen.png' }).waitFor({ timeout: 15_000 });
    await runCommand(lens.page, 'InternVL Lens: Locate Element…', 20_000);
    const input = lens.page.locator(`${QUICK_INPUT} input.input`);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    // The cost is shown before anything is sent: 800×500 is 3×2 tiles + thumbnail on InternVL's grid.
    await lens.page.locator(QUICK_INPUT, { hasText: '800×500: 7 tiles, 1,794 tokens' }).waitFor({ timeout: 5_000 });
    await input.fill('the Save button');
    await input.press('Enter');

    const frame = await chat();
    await lens.withLogs(frame.locator('.turn[data-status="done"]').waitFor({ timeout: 60_000 }));
    assert.equal(await frame.locator('.question-text').textContent(), 'Locate element: the Save button');
    assert.match((await frame.locator('figcaption').textContent()) ?? '', /800×500 · 7 tiles · 1,794 tokens/);
    assert.equal(await frame.locator('canvas.overlay').getAttribute('data-drawn'), String(BOXES.length));
    assert.deepEqual(
      await frame.$$eval('.region-list li .region-coords', (es) => es.map((e) => e.textContent)),
      BOXES.map(({ box }) => `[${[box[0] * 0.8, box[1] * 0.5, box[2] * 0.8, box[3] * 0.5].map(Math.round).join(', ')}] px`),
      'the list shows original pixels',
    );

    // Regions are painted on the overlay canvas: hover and click where box 0 is.
    const [left, top, w, h] = await regionImageBox(frame);
    const box0 = BOXES[0]!.box;
    const at = (dx: number, dy: number) => ({ x: left + (box0[0] / 1000) * w + dx, y: top + (box0[1] / 1000) * h + dy });
    // Positions relative to the canvas, both in the webview's own coordinates.
    const canvas = await frame.evaluate(() => document.querySelector('canvas.overlay')!.getBoundingClientRect().toJSON() as { x: number; y: number });
    const inCanvas = (p: { x: number; y: number }) => ({ x: p.x - canvas.x, y: p.y - canvas.y });
    await frame.hover('canvas.overlay', { position: inCanvas(at(6, 6)) });
    assert.deepEqual(await frame.$$eval('.answer .hot', (es) => es.map((e) => e.textContent)), ['Save button', '▭']);

    // Click-to-copy: the host writes the clipboard and says so in the status bar.
    await frame.click('canvas.overlay', { position: inCanvas(at(4, 4)) });
    await lens.page.locator('.statusbar', { hasText: 'copied "Save button" 80, 100, 240, 200' }).waitFor({ timeout: 5_000 });

    // Export: the button asks the host, which shows a save dialog (the simple one in the browser).
    const out = join(lens.workspace, 'annotated.png');
    await frame.click('.stage-tools .export');
    const dialog = lens.page.locator(`${QUICK_INPUT} input.input`);
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    // The simple dialog fills in its default path once it has read the folder; type over it then.
    await lens.page.waitForFunction((sel) => ((document.querySelector(sel) as HTMLInputElement | null)?.value ?? '').endsWith('.png'), `${QUICK_INPUT} input.input`, { timeout: 10_000 });
    await dialog.fill(out);
    await lens.page.waitForFunction((sel) => (document.querySelector(sel) as HTMLInputElement | null)?.value.endsWith('annotated.png'), `${QUICK_INPUT} input.input`);
    await dialog.press('Enter');
    let polls = 0;
    await waitFor(`the annotated PNG written to ${out}`, async () => {
      if (existsSync(out)) return true;
      // Under load the dialog may still be validating the first Enter; confirm again if it stays.
      if (++polls % 30 === 0 && (await dialog.isVisible().catch(() => false))) await dialog.press('Enter').catch(() => undefined);
      return false;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // The user is told where it went, with Open and Reveal, and Open shows it in an editor.
    const toast = lens.page.locator('.notifications-toasts .notification-toast', { hasText: 'exported annotated.png' });
    await toast.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await toast.innerText(), new RegExp(`\\(${BOXES.length} regions drawn`));
    assert.equal(await toast.locator('.monaco-button', { hasText: 'Reveal in Explorer' }).count(), 1, 'Reveal in Explorer is offered');
    await toast.locator('.monaco-button', { hasText: /^Open$/ }).first().click();
    await lens.page.locator('.tab', { hasText: 'annotated.png' }).first().waitFor({ state: 'visible', timeout: 10_000 });
    const sharp = await loadSharp();
    const { data, info } = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [IMAGE.width, IMAGE.height], 'original resolution');
    const [x1, y1, , y2] = BOXES[0]!.box.map((v, k) => Math.round((v / 1000) * (k % 2 ? IMAGE.height : IMAGE.width)));
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const want = [1, 3, 5].map((k) => parseInt(labelColour('Save button').slice(k, k + 2), 16));
    const got = px(x1!, Math.round((y1! + y2!) / 2));
    assert.ok(got.every((v, k) => Math.abs(v - want[k]!) <= 2), `box edge drawn in its label colour: ${got} vs ${want}`);
    await screenshot(lens.page, 'grounding-locate');
  });

  it('internvlLens.ground gives another extension regions in original pixels, from a URI or from bytes', async () => {
    const out = join(lens.workspace, 'ground-result.json');
    await runCommand(lens.page, 'Lens Client: Ground the Save Button', 20_000);
    await waitFor(`the client extension to write what ground() returned (${out})`, () => existsSync(out), { timeoutMs: 60_000, intervalMs: 100 });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { fromUri: GroundResult; fromBytes: GroundResult } | { error: string };
    if ('error' in result) assert.fail(result.error);
    const expected = BOXES.map(({ label, box }) => ({
      kind: 'box',
      label,
      box: [box[0] * 0.8, box[1] * 0.5, box[2] * 0.8, box[3] * 0.5].map(Math.round),
      normalized: box.map((v) => v / 1000),
    }));
    for (const r of [result.fromUri, result.fromBytes]) {
      // The public grounding schema (src/protocol/grounding.ts), checked by its own validator too.
      assert.ok(v.safeParse(GroundingResult, r).success, JSON.stringify(r));
      assert.equal(r.schema, GROUNDING_SCHEMA);
      assert.equal(r.image.width, IMAGE.width);
      assert.equal(r.image.height, IMAGE.height);
      assert.equal(r.image.devicePixelRatio, 1);
      assert.equal(r.answer, grounding.answer);
      assert.deepEqual(r.regions, expected);
    }
    assert.equal(result.fromUri.image.path, join(lens.workspace, 'screen.png'));
    assert.equal(result.fromBytes.image.path, undefined);
  });
});

type GroundResult = GroundingResult;

/** A tiny extension that calls internvlLens.ground as another extension would, packaged as a VSIX. */
function clientExtensionVsix(): string {
  return testExtensionVsix(
    'lens-client',
    { commands: [{ command: 'lensClient.ground', title: 'Lens Client: Ground the Save Button' }] },
    `const vscode = require('vscode');
exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('lensClient.ground', async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri;
    const image = vscode.Uri.joinPath(folder, 'screen.png');
    let result;
    try {
      const fromUri = await vscode.commands.executeCommand('internvlLens.ground', { image, target: 'the Save button' });
      const bytes = await vscode.workspace.fs.readFile(image);
      const fromBytes = await vscode.commands.executeCommand('internvlLens.ground', bytes, 'the Save button');
      result = { fromUri, fromBytes };
    } catch (err) {
      result = { error: String(err && err.stack || err) };
    }
    await writeResult(folder, 'ground-result.json', result);
  }));
};
`,
  );
}
