// Grounding in a real VS Code (code-server): "Locate Element…" on the image open in the editor,
// boxes drawn over it with the tile cost shown, hover links, click-to-copy through the host, and
// "Export PNG" writing the annotated image at original resolution.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { type CodeServer, explorerItem, exthostLog, launchBrowser, newWorkbenchPage, QUICK_INPUT, REPO_ROOT, runCommand, saveLogs, screenshot, startCodeServer, webviewViewFrame } from './harness';
import { labelColour } from '../../src/grounding';
import { loadSharp } from '../../src/images/prepare';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from '../integration/support';

const EXTENSION_ID = 'internvl-lens.internvl-lens';
const IMAGE = { width: 800, height: 500 };
const BOXES = SCRIPTS.grounding.regions.flatMap((r) => r.boxes.map((box) => ({ label: r.phrase, box })));

describe('Grounding in a real VS Code', () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  const grounding = tinyModel('grounding');
  const chat = (): Promise<Frame> => webviewViewFrame(page, EXTENSION_ID, 'internvlLens.chat', 20_000);

  before(async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'lens-ground-'));
    writeFileSync(join(workspace, 'screen.png'), encodePng(IMAGE.width, IMAGE.height, solidImage(IMAGE.width, IMAGE.height, [250, 250, 250, 255])));
    const settings = { 'internvlLens.modelPath': grounding.modelPath, 'internvlLens.mmprojPath': grounding.mmprojPath, 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2 };
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    server = await startCodeServer({ workspace, settings, vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix') });
    browser = await launchBrowser();
    page = await newWorkbenchPage(browser, server, { viewport: { width: 1400, height: 900 } });
  });

  after(async () => {
    if (server) await saveLogs(server, 'grounding').catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  it('Locate Element… answers with boxes over the open image; hover, copy and export work through the host', async () => {
    await explorerItem(page, 'screen.png').dblclick();
    await page.locator('.tabs-container .tab.active', { hasText: 'screen.png' }).waitFor({ timeout: 15_000 });
    await runCommand(page, 'InternVL Lens: Locate Element…', 20_000);
    const input = page.locator(`${QUICK_INPUT} input.input`);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    // The cost is shown before anything is sent: 800×500 is 3×2 tiles + thumbnail on InternVL's grid.
    await page.locator(QUICK_INPUT, { hasText: '800×500: 7 tiles, 1,794 tokens' }).waitFor({ timeout: 5_000 });
    await input.fill('the Save button');
    await input.press('Enter');

    const frame = await chat();
    await frame.locator('.turn[data-status="done"]').waitFor({ timeout: 60_000 }).catch((err: unknown) => {
      console.log(exthostLog(server, 60));
      throw err;
    });
    assert.equal(await frame.locator('.question-text').textContent(), 'Locate element: the Save button');
    assert.match((await frame.locator('figcaption').textContent()) ?? '', /800×500 · 7 tiles · 1,794 tokens/);
    assert.equal(await frame.locator('.region.box').count(), BOXES.length);
    assert.deepEqual(
      await frame.$$eval('.region-list li .region-coords', (es) => es.map((e) => e.textContent)),
      BOXES.map(({ box }) => `[${[box[0] * 0.8, box[1] * 0.5, box[2] * 0.8, box[3] * 0.5].map(Math.round).join(', ')}] px`),
      'the list shows original pixels',
    );

    await frame.hover('.region[data-index="0"]');
    assert.deepEqual(await frame.$$eval('.answer .hot', (es) => es.map((e) => e.textContent)), ['Save button', '▭']);

    // Click-to-copy: the host writes the clipboard and says so in the status bar.
    await frame.click('.region[data-index="0"]', { position: { x: 4, y: 4 } });
    await page.locator('.statusbar', { hasText: 'copied "Save button" 80, 100, 240, 200' }).waitFor({ timeout: 5_000 });

    // Export: the button asks the host, which shows a save dialog (the simple one in the browser).
    const out = join(server.workspace, 'annotated.png');
    await frame.click('.stage-tools .export');
    const dialog = page.locator(`${QUICK_INPUT} input.input`);
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    // The simple dialog fills in its default path once it has read the folder; type over it then.
    await page.waitForFunction((sel) => ((document.querySelector(sel) as HTMLInputElement | null)?.value ?? '').endsWith('.png'), `${QUICK_INPUT} input.input`, { timeout: 10_000 });
    await dialog.fill(out);
    await page.waitForFunction((sel) => (document.querySelector(sel) as HTMLInputElement | null)?.value.endsWith('annotated.png'), `${QUICK_INPUT} input.input`);
    await dialog.press('Enter');
    for (let i = 0; i < 200 && !existsSync(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
      // Under load the dialog may still be validating the first Enter; confirm again if it stays.
      if (i % 30 === 29 && (await dialog.isVisible().catch(() => false))) await dialog.press('Enter').catch(() => undefined);
    }
    assert.ok(existsSync(out), `annotated PNG written to ${out}`);
    const sharp = await loadSharp();
    const { data, info } = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [IMAGE.width, IMAGE.height], 'original resolution');
    const [x1, y1, , y2] = BOXES[0]!.box.map((v, k) => Math.round((v / 1000) * (k % 2 ? IMAGE.height : IMAGE.width)));
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const want = [1, 3, 5].map((k) => parseInt(labelColour('Save button').slice(k, k + 2), 16));
    const got = px(x1!, Math.round((y1! + y2!) / 2));
    assert.ok(got.every((v, k) => Math.abs(v - want[k]!) <= 2), `box edge drawn in its label colour: ${got} vs ${want}`);
    await screenshot(page, 'grounding-locate');
  });
});
