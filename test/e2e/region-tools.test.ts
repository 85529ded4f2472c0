// The region tools in a real VS Code (code-server): on a HiDPI screen capture (a private Xvfb whose
// Xft.dpi is 192, so the capture has 2 device pixels per CSS pixel) the tiny grounding model's
// scripted boxes are exported from the region list as JSON, CSV and Markdown (+ the annotated PNG)
// through the save dialog, and copied as Playwright and pyautogui clicks through the browser's
// clipboard; a rectangle dragged on the answered image becomes InternVL's region question; and
// "What the model saw" draws the tile grid and says how the image was resized.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Frame, Locator } from 'playwright-core';
import * as v from 'valibot';
import { pasteImage, QUICK_INPUT, runCommand, screenshot, useLensWorkbench } from './harness';
import { labelColour } from '../../src/grounding';
import { loadSharp } from '../../src/images/prepare';
import { GROUNDING_SCHEMA, GroundingResult } from '../../src/protocol/grounding';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';
import { tinyModel } from '../integration/support';

const SCREEN = { width: 1280, height: 800 };
const DPR = 2;
const BOXES = SCRIPTS.grounding.regions.flatMap((r) => r.boxes.map((box) => ({ label: r.phrase, box })));
/** The scripted boxes in the capture's device pixels: [128, 160, 384, 320], [640, 80, 832, 200], [896, 480, 1152, 760]. */
const PIXELS = BOXES.map(({ box }) => box.map((n, k) => Math.round((n / 1000) * (k % 2 ? SCREEN.height : SCREEN.width))));
const REGION_PROMPT = 'Please provide a short description for this region: ';

describe('Region tools in a real VS Code', () => {
  let x: XDisplay | undefined;
  const lens = useLensWorkbench('region-tools', async () => {
    // -noreset: the X resources (Xft.dpi, which gives the monitor its scale factor) stay when the
    // last client leaves.
    x = await startXDisplay({ ...SCREEN, server: { command: 'Xvfb', args: ['-noreset', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`], pkg: 'xvfb' } });
    await x.exec('xrdb', ['-nocpp', '-merge', '-'], Buffer.from(`Xft.dpi: ${96 * DPR}\n`));
    assert.match((await x.exec('xrdb', ['-query'])).toString(), /Xft\.dpi:\s*192/);
    return { model: tinyModel('grounding'), env: { DISPLAY: x.display }, viewport: { width: 1400, height: 900 } };
  });
  after(async () => {
    await x?.stop();
  });
  const chat = (): Promise<Frame> => lens.chat(45_000);

  /** The browser's clipboard, where code-server puts what the extension host copies. */
  async function clipboardText(): Promise<string> {
    return lens.page.evaluate(() => navigator.clipboard.readText());
  }

  /** Waits for `turn` to finish and says why when it did not answer (an error's text). */
  async function answered(turn: Locator, timeoutMs: number): Promise<void> {
    const status = await lens.withLogs(
      waitFor('the answer', async () => {
        const st = await turn.getAttribute('data-status').catch(() => null);
        return st === 'done' || st === 'error' || st === 'stopped' ? st : undefined;
      }, { timeoutMs, intervalMs: 200 }),
    );
    assert.equal(status, 'done', `the turn ended ${status}: ${await turn.innerText()}`);
  }

  /** Clicks an export of the last turn's region list and answers the save dialog with `out`. */
  async function exportTo(frame: Frame, format: string, out: string): Promise<void> {
    const ext = out.split('.').pop()!;
    await frame.locator(`.turn >> nth=-1 >> .region-exports button[data-format="${format}"]`).click();
    const dialog = lens.page.locator(`${QUICK_INPUT} input.input`);
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    // The simple dialog fills in its default path once it has read the folder; type over it then.
    await lens.page.waitForFunction(({ sel, ext }) => ((document.querySelector(sel) as HTMLInputElement | null)?.value ?? '').endsWith(`-regions.${ext}`), { sel: `${QUICK_INPUT} input.input`, ext }, { timeout: 20_000 });
    await dialog.fill(out);
    await lens.page.waitForFunction(({ sel, out }) => (document.querySelector(sel) as HTMLInputElement | null)?.value === out, { sel: `${QUICK_INPUT} input.input`, out }, { timeout: 10_000 });
    await dialog.press('Enter');
    let polls = 0;
    await waitFor(`the ${format} export written to ${out}`, async () => {
      if (existsSync(out)) return true;
      // Under load the dialog may still be validating the first Enter; confirm again if it stays.
      if (++polls % 30 === 0 && (await dialog.isVisible().catch(() => false))) await dialog.press('Enter').catch(() => undefined);
      return undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
  }

  it('exports the regions of a HiDPI capture as JSON, CSV, Markdown + PNG, and copies Playwright and pyautogui clicks', async () => {
    await lens.openChat();
    await runCommand(lens.page, 'InternVL Lens: Capture Screen', 20_000);
    const box = lens.page.locator(QUICK_INPUT);
    await box.waitFor({ state: 'visible', timeout: 20_000 });
    await lens.page.waitForFunction((sel) => (document.querySelector(sel) as HTMLInputElement | null)?.value === 'Describe this screenshot.', `${QUICK_INPUT} input.input`, { timeout: 20_000 });
    // Escape: the capture waits in the composer; the Locate preset asks for the target there.
    await lens.page.keyboard.press('Escape');
    await box.waitFor({ state: 'hidden', timeout: 10_000 });
    const frame = await chat();
    await lens.withLogs(frame.locator('.composer .attachment').waitFor({ timeout: 20_000 }));
    assert.equal(await frame.locator('.composer .attachment .attachment-cost').textContent(), `${SCREEN.width}×${SCREEN.height} · 7 tiles × 256 = 1,794 tokens`);
    await frame.locator('.presets button[data-preset="locate"]').click();
    await frame.locator('.composer textarea').fill('the Save button');
    await frame.locator('.composer textarea').press('Enter');
    const turn = frame.locator('.turn').last();
    await answered(turn, 90_000);
    assert.deepEqual(
      await turn.locator('.region-list li .region-coords').allTextContents(),
      PIXELS.map((p) => `[${p.join(', ')}] px`),
      'the list shows the capture’s device pixels',
    );

    // JSON: the public grounding result, in device pixels, with the capture's scale factor.
    const json = join(lens.workspace, 'found.json');
    await exportTo(frame, 'json', json);
    const result = JSON.parse(readFileSync(json, 'utf8')) as GroundingResult;
    assert.ok(v.safeParse(GroundingResult, result).success, JSON.stringify(result));
    assert.equal(result.schema, GROUNDING_SCHEMA);
    assert.deepEqual([result.image.width, result.image.height, result.image.devicePixelRatio], [SCREEN.width, SCREEN.height, DPR]);
    assert.deepEqual(
      result.regions,
      BOXES.map(({ label, box }, i) => ({ kind: 'box', label, box: PIXELS[i], normalized: box.map((n) => n / 1000) })),
    );

    // CSV: one row per box, its click point the centre.
    const csv = join(lens.workspace, 'found.csv');
    await exportTo(frame, 'csv', csv);
    assert.equal(
      readFileSync(csv, 'utf8'),
      'label,kind,x1,y1,x2,y2,x3,y3,x4,y4,click_x,click_y\r\n' +
        'Save button,box,128,160,384,320,,,,,256,240\r\n' +
        'icons,box,640,80,832,200,,,,,736,140\r\n' +
        'icons,box,896,480,1152,760,,,,,1024,620\r\n',
    );

    // Markdown: the report names the annotated PNG written beside it.
    const md = join(lens.workspace, 'report.md');
    await exportTo(frame, 'markdown', md);
    const report = readFileSync(md, 'utf8');
    assert.match(report, /\]\(report\.png\)/);
    assert.ok(report.includes('| 1 | Save button | box | 128, 160, 384, 320 | 256, 240 |'), report);
    assert.ok(report.includes('| 3 | icons | box | 896, 480, 1152, 760 | 1024, 620 |'), report);
    assert.ok(report.includes(`(a HiDPI capture: ${DPR} device pixels per CSS pixel)`), report);
    const sharp = await loadSharp();
    const { data, info } = await sharp(join(lens.workspace, 'report.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [SCREEN.width, SCREEN.height], 'the capture’s own resolution');
    const [x1, y1, , y2] = PIXELS[0]!;
    const at = (px: number, py: number) => [...data.subarray((py * info.width + px) * 3, (py * info.width + px) * 3 + 3)];
    const want = [1, 3, 5].map((k) => parseInt(labelColour('Save button').slice(k, k + 2), 16));
    const edge = at(x1!, Math.round((y1! + y2!) / 2));
    assert.ok(edge.every((c, k) => Math.abs(c - want[k]!) <= 2), `the box's left edge in its label colour: ${edge} vs ${want}`);

    // The click snippets go to the clipboard: code-server hands the host's copy to the browser.
    await lens.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(lens.server.url).origin });
    await frame.locator('.turn >> nth=-1 >> .region-exports button[data-format="playwright"]').click();
    await lens.page.locator('.statusbar', { hasText: 'copied 3 Playwright clicks' }).waitFor({ timeout: 15_000 });
    const playwright = ['await page.mouse.click(128, 120); // Save button', 'await page.mouse.click(368, 70); // icons', 'await page.mouse.click(512, 310); // icons'].join('\n');
    await waitFor('the Playwright clicks on the clipboard', async () => ((await clipboardText()) === playwright ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; the clipboard holds ${JSON.stringify(await clipboardText())}`);
    });
    await frame.locator('.turn >> nth=-1 >> .region-exports button[data-format="pyautogui"]').click();
    // The extension host runs on Linux: pyautogui clicks in physical pixels, the capture's own.
    const pyautogui = [
      `# physical pixels (pyautogui is DPI-aware on Windows; on macOS divide by ${DPR}), from the captured screen's top left; add its origin for a second monitor`,
      'pyautogui.click(256, 240)  # Save button',
      'pyautogui.click(736, 140)  # icons',
      'pyautogui.click(1024, 620)  # icons',
    ].join('\n');
    await waitFor('the pyautogui clicks on the clipboard', async () => ((await clipboardText()) === pyautogui ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; the clipboard holds ${JSON.stringify(await clipboardText())}`);
    });
    await screenshot(lens.page, 'region-tools-exports');
  });

  it('Ask about a region: a dragged rectangle becomes InternVL’s region question, drawn in its own style once asked', async () => {
    const frame = await chat();
    const turns = await frame.locator('.turn').count();
    const stage = frame.locator('.turn >> nth=-1 >> .stage.has-regions');
    await stage.locator('img').scrollIntoViewIfNeeded({ timeout: 10_000 });
    await stage.locator('.stage-tools .select-region').click();
    await stage.and(frame.locator('.stage.selecting')).waitFor({ timeout: 5_000 });
    // From 20 %, 30 % to 60 %, 70 % of the shown image, in page coordinates for the mouse.
    const img = await stage.locator('img').evaluate((e) => e.getBoundingClientRect().toJSON() as { left: number; top: number; width: number; height: number });
    const inner = (await (await frame.frameElement()).boundingBox())!;
    // Whole page pixels; the rectangle expected is where they fall on the image.
    const page = (fx: number, fy: number) => ({ x: Math.round(inner.x + img.left + fx * img.width), y: Math.round(inner.y + img.top + fy * img.height) });
    const [from, to] = [page(0.2, 0.3), page(0.6, 0.7)];
    const dragged = [(from.x - inner.x - img.left) / img.width, (from.y - inner.y - img.top) / img.height, (to.x - inner.x - img.left) / img.width, (to.y - inner.y - img.top) / img.height].map((f) => f * 1000);
    await lens.page.mouse.move(from.x, from.y);
    await lens.page.mouse.down();
    await lens.page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await lens.page.mouse.move(to.x, to.y, { steps: 4 });
    await lens.page.mouse.up();
    const ask = stage.locator('.ask-region');
    await ask.waitFor({ timeout: 5_000 });
    await ask.click();
    const input = frame.locator('.composer textarea');
    const text = await waitFor('the region question in the composer', async () => ((await input.inputValue()).startsWith(REGION_PROMPT) ? input.inputValue() : undefined), { timeoutMs: 15_000 });
    const m = /^Please provide a short description for this region: <box>\[\[(\d+), (\d+), (\d+), (\d+)\]\]<\/box>$/.exec(text);
    assert.ok(m, `InternVL's region prompt, exactly: ${JSON.stringify(text)}`);
    const got = m.slice(1).map(Number);
    assert.ok(got.every((n, k) => Math.abs(n - dragged[k]!) <= 1), `the box ${got} is the dragged rectangle ${dragged} in 0..1000 of the image`);
    assert.equal(await frame.locator('.composer .attachment').count(), 0, 'the answered image is the one asked about: nothing is attached again');

    await input.press('Enter');
    const asked = frame.locator('.turn').nth(turns);
    await answered(asked, 90_000);
    assert.equal(await asked.locator('.question-text').textContent(), text);
    // The user's region is drawn over the image in its own style (beside the answer's boxes).
    const referred = asked.locator('canvas.overlay');
    await waitFor('the user’s region drawn', async () => ((await referred.getAttribute('data-referred')) === '1' ? true : undefined), { timeoutMs: 15_000 });
    assert.equal(await referred.getAttribute('data-drawn'), String(BOXES.length), 'the answer’s boxes drawn beside it');
    await screenshot(lens.page, 'region-tools-ask-region');
  });

  it('What the model saw: the tile grid and the shrink of a 4K image; a small image enlarged to 13 tiles offers fewer', async () => {
    // A new chat: the 4K image's 2 306 tokens do not fit the tiny model's 4 096 beside the capture's.
    await runCommand(lens.page, 'InternVL Lens: New Chat', 20_000);
    const frame = await chat();
    await waitFor('the new chat', async () => ((await frame.locator('.turn').count()) === 0 ? true : undefined), { timeoutMs: 15_000 });
    // A 4K image: InternVL's grid of at most 12 tiles is 4×2 + thumbnail (1792×896), 2.4× smaller.
    await pasteImage(frame, encodePng(3840, 2160, solidImage(3840, 2160, [240, 240, 240, 255])), 'uhd.png');
    const waiting = frame.locator('.composer .attachment');
    await lens.withLogs(waiting.waitFor({ timeout: 30_000 }));
    assert.equal(await waiting.locator('.attachment-cost').textContent(), '3840×2160 · 9 tiles × 256 = 2,306 tokens');
    assert.equal(await waiting.locator('.model-sight').count(), 0, 'a shrunk image has no enlarged note');
    const turns = await frame.locator('.turn').count();
    await frame.locator('.composer textarea').fill('What is on this screen?');
    await frame.locator('.composer textarea').press('Enter');
    const turn = frame.locator('.turn').nth(turns);
    await answered(turn, 120_000);
    const stage = turn.locator('.stage').first();
    const overlay = stage.locator('canvas.overlay');
    await stage.locator('img').scrollIntoViewIfNeeded({ timeout: 10_000 });
    await waitFor('the answer’s boxes drawn', async () => ((await overlay.getAttribute('data-drawn')) === String(BOXES.length) ? true : undefined), { timeoutMs: 15_000 });
    assert.equal(await overlay.getAttribute('data-sight'), '', 'no grid before the toggle');
    const img = await stage.locator('img').evaluate((e) => e.getBoundingClientRect().toJSON() as { left: number; top: number; width: number; height: number });
    // Tile 2's cost tag ("2: 256", from 2 px in): its dark background left of the text.
    const tag: [number, number] = [img.left + img.width / 4 + 3.5, img.top + 9];
    /** The overlay's RGBA at a client point of the frame. */
    const overlayAt = ([x, y]: [number, number]) =>
      overlay.evaluate((c: HTMLCanvasElement, [x, y]) => {
        const r = c.getBoundingClientRect();
        return [...c.getContext('2d')!.getImageData(Math.floor(((x - r.left) * c.width) / r.width), Math.floor(((y - r.top) * c.height) / r.height), 1, 1).data];
      }, [x, y] as const);
    const before = await overlayAt(tag);
    assert.equal(before[3], 0, `nothing drawn there before the toggle: ${before}`);
    await stage.locator('.stage-tools .show-sight').click();
    await waitFor('the tile grid drawn', async () => ((await overlay.getAttribute('data-sight')) === '4x2' ? true : undefined), { timeoutMs: 10_000 });
    const note = stage.locator('.model-sight');
    assert.equal(
      await note.textContent(),
      'What the model saw: shrunk 2.4×: text under ~10 px may be unreadable. 4×2 tiles × 256 + thumbnail 256 + 2 = 2\u202f306 tokens.',
    );
    const drawn = await overlayAt(tag);
    assert.ok(drawn[3]! > 100 && drawn[0]! < 60, `tile 2's cost tag is drawn over the image: ${drawn}`);
    // The grid-sized copy the model was given, shown instead of the original.
    await stage.locator('.stage-tools .model-view').click();
    await waitFor('the grid-sized copy shown', async () => (await stage.locator('img').evaluate((e: HTMLImageElement) => e.complete && e.naturalWidth)) === 1792 || undefined, { timeoutMs: 15_000 });
    await screenshot(lens.page, 'region-tools-model-sight');

    // 456×346: the reference rule enlarges it to 4×3 tiles + thumbnail, more than a whole screen.
    await pasteImage(frame, encodePng(456, 346, solidImage(456, 346, [20, 90, 200, 255])), 'small.png');
    await lens.withLogs(waiting.waitFor({ timeout: 30_000 }));
    assert.equal(await waiting.locator('.attachment-cost').textContent(), '456×346 · 13 tiles × 256 = 3,330 tokens');
    const enlarged = waiting.locator('.model-sight.costly');
    assert.equal(
      await enlarged.evaluate((e) => e.firstChild?.textContent),
      'enlarged 3.9× to 13 tiles: 3\u202f330 tokens, more than a whole 1920×1080 screen (2\u202f306); fewer tiles lose no detail. ',
    );
    const fewer = enlarged.locator('select.fewer-tiles');
    assert.deepEqual(await fewer.locator('option').allTextContents(), ['Fewer tiles…', 'at most 1 tile', 'at most 2 tiles', 'at most 4 tiles', 'at most 6 tiles', 'at most 9 tiles']);
    // At most 4 tiles: one 448-px tile (its closest shape), no thumbnail; the note goes.
    await fewer.selectOption('4');
    await waitFor('the waiting image re-tiled', async () => ((await waiting.locator('.attachment-cost').textContent()) === '456×346 · 1 tile × 256 = 258 tokens' ? true : undefined), { timeoutMs: 20_000 });
    assert.equal(await waiting.locator('.model-sight').count(), 0);
  });
});
