// The chat webview bundle in headless Chromium, fed the real host→webview messages: regions
// land on the right pixels of the image at several panel widths.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, REPO_ROOT } from '../e2e/harness';
import { encodePng, solidImage } from '../fixtures/png';
import { overlayPixels, regionImageBox } from './overlay-pixels';
import { labelColour, type Quad, type Region } from '../../src/grounding';
import type { HostMessage, TurnView } from '../../src/protocol/webview';

const dir = mkdtempSync(join(tmpdir(), 'lens-webview-'));

function pageHtml(): string {
  for (const f of ['webview.js', 'webview.css']) copyFileSync(join(REPO_ROOT, 'dist', f), join(dir, f));
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="webview.css">
<script>window.sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m) });</script>
</head><body data-view="internvlLens.chat"><main id="app"></main><script src="webview.js"></script></body></html>`;
  const file = join(dir, 'index.html');
  writeFileSync(file, html);
  return pathToFileURL(file).href;
}

/** Boxes and points (quads have their own test). */
type Normalised = Exclude<Region, { kind: 'quad' }>;

/** Regions as the host sends them: with their original-pixel coordinates. */
function withPixels(regions: Region[], width: number, height: number): TurnView['regions'] {
  return regions.map((r) =>
    r.kind === 'box'
      ? { ...r, pixels: [r.box[0] * width, r.box[1] * height, r.box[2] * width, r.box[3] * height].map(Math.round) as [number, number, number, number] }
      : r.kind === 'quad'
        ? { ...r, pixels: r.quad.map((n, k) => Math.round(n * (k % 2 === 0 ? width : height))) as Quad }
        : { ...r, pixels: [r.point[0] * width, r.point[1] * height].map(Math.round) as [number, number] },
  );
}

function turn(image: { src: string; width: number; height: number }, regions: Region[], answer = 'ok'): TurnView {
  const view = { id: 'img', name: 'shot.png', tiles: 9, tokens: 2306, ...image };
  return { id: 't1', question: 'Where?', images: [view], target: view, answer, status: 'done', regions: withPixels(regions, image.width, image.height), error: null, stats: null };
}

async function post(page: Page, msg: HostMessage): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

const imageBox = (page: Page) => regionImageBox(page);

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
function assertColour(got: number[] | null, hex: string, what: string): void {
  assert.ok(got, `${what}: the overlay covers it`);
  // Edges at fractional pixels are antialiased: partly transparent, still the label's colour.
  assert.ok(got[3]! > 100, `${what}: painted (alpha ${got[3]})`);
  rgb(hex).forEach((c, k) => assert.ok(Math.abs(got[k]! - c) <= 40, `${what}: colour ${got.slice(0, 3)} is ${hex}`));
}
function assertClear(got: number[] | null, what: string): void {
  assert.ok(got === null || got[3] === 0, `${what}: nothing painted (got ${got})`);
}

/**
 * Checks each region's outline on the overlay: every edge painted in the label's colour within
 * 1 px of where the region's coordinates put it, and the inside left clear.
 */
async function assertRegionsOnPixels(page: Page, regions: Normalised[], what: string, visible?: (x: number, y: number) => boolean): Promise<void> {
  const [left, top, w, h] = await imageBox(page);
  const checks: { point: [number, number]; colour: string | null; what: string }[] = [];
  regions.forEach((r, i) => {
    const colour = labelColour(r.label);
    if (r.kind === 'box') {
      const [x1, y1, x2, y2] = [left + r.box[0] * w, top + r.box[1] * h, left + r.box[2] * w, top + r.box[3] * h];
      const [xm, ym] = [(x1 + x2) / 2, (y1 + y2) / 2];
      checks.push(
        { point: [x1 + 1, ym], colour, what: `${what}: region ${i} left edge` },
        { point: [x2 - 1, ym], colour, what: `${what}: region ${i} right edge` },
        { point: [xm, y1 + 1], colour, what: `${what}: region ${i} top edge` },
        { point: [xm, y2 - 1], colour, what: `${what}: region ${i} bottom edge` },
        // Just outside the edges and inside the box: clear.
        { point: [x1 - 2, ym], colour: null, what: `${what}: left of region ${i}` },
        { point: [x2 + 2, ym], colour: null, what: `${what}: right of region ${i}` },
      );
      if (x2 - x1 > 12 && y2 - y1 > 12) checks.push({ point: [x1 + 5, y2 - 5], colour: null, what: `${what}: inside region ${i}` });
    } else {
      const [x, y] = [left + r.point[0] * w, top + r.point[1] * h];
      checks.push(
        { point: [x, y], colour, what: `${what}: point ${i} centre` },
        { point: [x + 6, y], colour, what: `${what}: point ${i} arm` },
        { point: [x + 4, y + 4], colour: null, what: `${what}: beside point ${i}` },
      );
    }
  });
  // Labels (a tag up to ~30 px wide above a box's corner, beside a point) may cover other
  // regions' pixels on a small image: points under any label are not checked.
  const labels = regions.map((r) => {
    const [x, y] = r.kind === 'box' ? [left + r.box[0] * w, top + r.box[1] * h - 14] : [left + r.point[0] * w + 6, top + r.point[1] * h - 18];
    return [x - 1, y - 1, x + 30, y + 15];
  });
  const underLabel = ([x, y]: [number, number]) => labels.some(([x1, y1, x2, y2]) => x >= x1! && x <= x2! && y >= y1! && y <= y2!);
  const kept = checks.filter((c) => (!visible || visible(...c.point)) && !underLabel(c.point) && (c.colour !== null || w >= 200));
  const pixels = await overlayPixels(page, kept.map((c) => c.point));
  kept.forEach((c, k) => (c.colour ? assertColour(pixels[k]!, c.colour, c.what) : assertClear(pixels[k]!, c.what)));
}

describe('chat webview overlay', () => {
  let browser: Browser;
  let url: string;
  before(async () => {
    browser = await launchBrowser();
    url = pageHtml();
  });
  after(() => browser?.close());

  const cases = [
    { name: 'wide', width: 1920, height: 1080 },
    { name: 'tall', width: 600, height: 1400 },
    { name: 'tiny', width: 64, height: 40 },
    { name: 'tiny square tile', width: 448, height: 448 },
    { name: 'huge', width: 8000, height: 1200 },
  ];
  const regions: Normalised[] = [
    { kind: 'box', label: 'a', box: [0.1, 0.2, 0.3, 0.4] },
    { kind: 'box', label: 'b', box: [0.55, 0.05, 0.95, 0.9] },
    { kind: 'point', label: 'c', point: [0.25, 0.75] },
  ];

  for (const c of cases) {
    it(`places boxes and points on the ${c.name} image (${c.width}×${c.height}) at several panel widths`, async () => {
      const png = join(dir, `${c.name}.png`);
      writeFileSync(png, encodePng(c.width, c.height, solidImage(c.width, c.height, [90, 90, 90, 255])));
      const page = await browser.newPage({ viewport: { width: 320, height: 900 } });
      try {
        await page.goto(url);
        await post(page, { type: 'snapshot', turns: [turn({ src: pathToFileURL(png).href, width: c.width, height: c.height }, regions)] });
        await page.waitForFunction(() => (document.querySelector('.stage img') as HTMLImageElement | null)?.complete === true);
        for (const width of [240, 420, 900, 1600]) {
          await page.setViewportSize({ width, height: 900 });
          await page.waitForFunction((w) => document.querySelector<HTMLElement>('.stage .canvas')!.clientWidth <= w, width);
          // The overlay is redrawn after the resize (ResizeObserver), before the next paint.
          await page.evaluate(() => new Promise(requestAnimationFrame));
          const [, , w] = await imageBox(page);
          assert.ok(w <= width, `image fits the panel (${w} ≤ ${width})`);
          assert.equal(await page.locator('canvas.overlay').getAttribute('data-drawn'), String(regions.length), 'every region drawn');
          await assertRegionsOnPixels(page, regions, `${c.name} @${width}px`);
        }
      } finally {
        await page.close();
      }
    });
  }

  it('covers the image box exactly when its height is fractional (no stretch at the bottom)', async () => {
    // 1000×333 shown 296 px wide (a 320 px panel): 98.568 px tall, not a whole pixel.
    const png = join(dir, 'fractional.png');
    writeFileSync(png, encodePng(1000, 333, solidImage(1000, 333, [90, 90, 90, 255])));
    const page = await browser.newPage({ viewport: { width: 320, height: 900 } });
    try {
      await page.goto(url);
      const bottom: Normalised[] = [{ kind: 'box', label: null, box: [0.2, 0.5, 0.8, 1] }];
      await post(page, { type: 'snapshot', turns: [turn({ src: pathToFileURL(png).href, width: 1000, height: 333 }, bottom)] });
      await page.waitForFunction(() => (document.querySelector('.stage img') as HTMLImageElement | null)?.complete === true);
      for (const width of [320, 333, 517]) {
        await page.setViewportSize({ width, height: 900 });
        await page.evaluate(() => new Promise(requestAnimationFrame));
        await page.evaluate(() => new Promise(requestAnimationFrame));
        const [img, overlay] = await page.evaluate(() =>
          ['.stage img', 'canvas.overlay'].map((sel) => {
            const r = document.querySelector(sel)!.getBoundingClientRect();
            return [r.left, r.top, r.width, r.height];
          }),
        );
        assert.ok(img![3]! % 1 !== 0, `the image's height is fractional at ${width} px (${img![3]})`);
        img!.forEach((v, k) => assert.ok(Math.abs(v - overlay![k]!) < 0.02, `overlay ${['left', 'top', 'width', 'height'][k]} ${overlay![k]} is the image's ${v} at ${width} px`));
        await assertRegionsOnPixels(page, bottom, `fractional @${width}px`);
      }
    } finally {
      await page.close();
    }
  });

  async function openTurn(page: Page, c: { width: number; height: number }, rs: Region[], answer: string): Promise<void> {
    const png = join(dir, `interact-${c.width}x${c.height}.png`);
    writeFileSync(png, encodePng(c.width, c.height, solidImage(c.width, c.height, [90, 90, 90, 255])));
    await page.goto(url);
    await post(page, { type: 'snapshot', turns: [turn({ src: pathToFileURL(png).href, ...c }, rs, answer)] });
    await page.waitForFunction(() => (document.querySelector('.stage img') as HTMLImageElement | null)?.complete === true);
  }
  const sent = (page: Page) => page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.filter((m) => (m as { type: string }).type !== 'ready'));

  it('zoomed in, regions still land on their pixels, and follow panning', async () => {
    const page = await browser.newPage({ viewport: { width: 400, height: 800 } });
    try {
      await openTurn(page, { width: 3000, height: 2000 }, regions, 'ok');
      await page.click('.zoom-in');
      await page.click('.zoom-in');
      assert.equal(await page.locator('.zoom-level').textContent(), '225%');
      await page.evaluate(() => {
        const v = document.querySelector<HTMLElement>('.viewport')!;
        v.scrollLeft = 150;
        v.scrollTop = 90;
      });
      await page.evaluate(() => new Promise(requestAnimationFrame));
      const [, , w] = await imageBox(page);
      assert.ok(w > 700, `the image is wider than the panel when zoomed (${w})`);
      const view = await page.evaluate(() => {
        const r = document.querySelector('.viewport')!.getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom];
      });
      const inView = (x: number, y: number) => x >= view[0]! + 3 && x <= view[2]! - 3 && y >= view[1]! + 3 && y <= view[3]! - 3;
      await assertRegionsOnPixels(page, regions, 'zoomed and panned', inView);
      // Fit the panel has an icon of its own: no other toolbar button's, no command's (it wore Capture Region's).
      const toolIcons = await page.$$eval('.stage-tools .icon-button .codicon', (es) => es.map((e) => [...e.classList].find((c) => c.startsWith('codicon-'))!));
      const fitIcon = await page.$eval('.zoom-fit .codicon', (e) => [...e.classList].find((c) => c.startsWith('codicon-'))!);
      const commands = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { commands: { icon?: unknown }[] } }).contributes.commands;
      const commandIcons = commands.map((c) => c.icon).filter((i): i is string => typeof i === 'string' && i.startsWith('$(')).map((i) => `codicon-${i.slice(2, -1)}`);
      assert.equal(toolIcons.filter((i) => i === fitIcon).length, 1, `toolbar icons: ${toolIcons.join(', ')}`);
      assert.ok(!commandIcons.includes(fitIcon), `Fit the panel's ${fitIcon} is a command's icon`);
      await page.click('.zoom-fit');
      assert.ok((await imageBox(page))[2] <= 400);
    } finally {
      await page.close();
    }
  });

  it('a smaller preview is shown at the original size, regions on their pixels; re-renders keep the element; zoom loads the original', async () => {
    const [width, height] = [1920, 1080];
    const preview = join(dir, 'preview.png');
    const original = join(dir, 'original.png');
    writeFileSync(preview, encodePng(width / 2, height / 2, solidImage(width / 2, height / 2, [90, 90, 90, 255])));
    writeFileSync(original, encodePng(width, height, solidImage(width, height, [90, 90, 90, 255])));
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    try {
      await page.goto(url);
      const view = { ...turn({ src: pathToFileURL(preview).href, width, height }, regions), status: 'streaming' as const };
      for (const image of [...view.images, view.target!]) image.original = pathToFileURL(original).href;
      await post(page, { type: 'snapshot', turns: [view] });
      await page.waitForFunction(() => (document.querySelector('.stage img') as HTMLImageElement | null)?.complete === true);
      assert.deepEqual(await page.evaluate(() => [document.querySelector('.stage img')!.getAttribute('width'), (document.querySelector('.stage img') as HTMLImageElement).naturalWidth]), ['1920', 960]);
      await page.evaluate(() => ((window as unknown as { shownImg: Element }).shownImg = document.querySelector('.stage img')!));
      await assertRegionsOnPixels(page, regions, 'over the preview');
      // The turn ends in an error: its card is rendered afresh, with the same (loaded) image element.
      await post(page, { type: 'turn', turn: { ...view, status: 'error', error: { message: 'no model', remedies: [{ kind: 'showLog' }] } } });
      await page.locator('.turn[data-status="error"]').waitFor();
      assert.equal(await page.evaluate(() => document.querySelector('.stage img') === (window as unknown as { shownImg: Element }).shownImg), true, 'the image element is kept');
      await assertRegionsOnPixels(page, regions, 'after the re-render');
      await page.click('.zoom-in');
      await page.waitForFunction((src) => (document.querySelector('.stage img') as HTMLImageElement).src === src, pathToFileURL(original).href);
      await page.waitForFunction(() => (document.querySelector('.stage img') as HTMLImageElement).naturalWidth === 1920);
    } finally {
      await page.close();
    }
  });

  it('hovering a region lights its words and list entry, and the reverse; clicks copy; overlay toggles; export asks the host', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      const answer = 'Here: <ref>a</ref><box>[[100,200,300,400]]</box> and <ref>b</ref><box>[[550,50,950,900]]</box> c';
      await openTurn(page, { width: 1000, height: 800 }, regions.slice(0, 2), answer);
      const [left, top, w, h] = await imageBox(page);
      const centre = (r: Normalised): [number, number] => (r.kind === 'box' ? [left + ((r.box[0] + r.box[2]) / 2) * w, top + ((r.box[1] + r.box[3]) / 2) * h] : [left + r.point[0] * w, top + r.point[1] * h]);
      await page.mouse.move(...centre(regions[1]!));
      assert.deepEqual(await page.$$eval('.answer .hot', (es) => es.map((e) => e.textContent)), ['b', '▭']);
      assert.equal(await page.locator('.region-list li.hot').getAttribute('data-index'), '1');
      assert.equal(await page.locator('canvas.overlay').getAttribute('data-hot'), '1');
      await page.hover('.answer mark.ref >> nth=0');
      assert.equal(await page.locator('canvas.overlay').getAttribute('data-hot'), '0');
      assert.equal(await page.locator('.answer .hot').count(), 2);
      await page.evaluate(() => new Promise(requestAnimationFrame));
      const [inside] = await overlayPixels(page, [[left + 0.2 * w, top + 0.38 * h]]);
      assert.ok(inside && inside[3]! > 0, 'the hovered words fill their region');

      await page.mouse.click(left + 0.1 * w + 5, top + 0.2 * h + 5);
      await page.click('.region-list li[data-index="1"]');
      await page.click('.stage-tools .export');
      assert.deepEqual(await sent(page), [
        { type: 'copyRegion', turnId: 't1', index: 0 },
        { type: 'copyRegion', turnId: 't1', index: 1 },
        { type: 'exportAnnotated', turnId: 't1' },
      ]);
      assert.deepEqual(await page.$$eval('.region-list li', (es) => es.map((e) => e.textContent)), ['a[100, 160, 300, 320] px', 'b[550, 40, 950, 720] px']);
      // Each box carries its label, a tag in the label's colour above its top-left corner.
      const tags = await overlayPixels(page, [
        [left + 0.1 * w + 1, top + 0.2 * h - 7],
        [left + 0.55 * w + 1, top + 0.05 * h - 7],
      ]);
      assertColour(tags[0]!, labelColour('a'), 'label of a');
      assertColour(tags[1]!, labelColour('b'), 'label of b');
      await page.click('.toggle-overlay');
      assert.equal(await page.locator('canvas.overlay').isVisible(), false);
      await page.click('.toggle-overlay');
      assert.equal(await page.locator('canvas.overlay').isVisible(), true);
    } finally {
      await page.close();
    }
  });

  it('a quad is drawn as a closed polygon through its four corners; hovering inside it lights it; the list names its corners', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      // A diamond: corners top, right, bottom, left; its bounding box's corners are outside it.
      const diamond: Region = { kind: 'quad', label: 'sign', quad: [0.5, 0.1, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5] };
      await openTurn(page, { width: 1000, height: 800 }, [diamond], '<ref>sign</ref><quad>[[500,100,900,500,500,900,100,500]]</quad>');
      await page.evaluate(() => new Promise(requestAnimationFrame));
      const [left, top, w, h] = await imageBox(page);
      const at = (nx: number, ny: number): [number, number] => [left + nx * w, top + ny * h];
      // Midpoints of the four edges lie on the outline; the bounding box's corner and the centre do not.
      const [e1, e2, e3, e4, corner, centre] = await overlayPixels(page, [at(0.7, 0.3), at(0.7, 0.7), at(0.3, 0.7), at(0.3, 0.3), at(0.15, 0.85), at(0.5, 0.5)]);
      for (const [k, p] of [e1, e2, e3, e4].entries()) assertColour(p!, labelColour('sign'), `quad edge ${k + 1}`);
      assertClear(corner!, 'outside the quad, inside its bounding box');
      assertClear(centre!, 'inside the quad');
      // Inside the polygon (not just its bounding box) hits it.
      await page.mouse.move(...at(0.15, 0.85));
      assert.equal(await page.locator('canvas.overlay').getAttribute('data-hot'), null, 'no hit outside the polygon');
      await page.mouse.move(...at(0.5, 0.45));
      assert.equal(await page.locator('canvas.overlay').getAttribute('data-hot'), '0');
      assert.deepEqual(await page.$$eval('.region-list li', (es) => es.map((e) => e.textContent)), ['signquad (500, 80) (900, 400) (500, 720) (100, 400) px']);
    } finally {
      await page.close();
    }
  });

  it('after a zoom-in refine the refined box is drawn solid and the first pass faint and dashed; the list marks it', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      const refined: Region = { kind: 'box', label: 'Save', box: [0.5, 0.5, 0.7, 0.7] };
      await openTurn(page, { width: 1000, height: 800 }, [], 'ok');
      const view = turn({ src: (await page.evaluate(() => document.querySelector<HTMLImageElement>('.stage img')!.src)), width: 1000, height: 800 }, [refined]);
      view.regions[0] = { ...view.regions[0]!, coarse: { kind: 'box', box: [0.1, 0.1, 0.3, 0.3] } } as TurnView['regions'][number];
      await post(page, { type: 'snapshot', turns: [view] });
      await page.waitForFunction(() => document.querySelector('canvas.overlay')?.getAttribute('data-drawn') === '1');
      await page.evaluate(() => new Promise(requestAnimationFrame));
      const [left, top, w, h] = await imageBox(page);
      const colour = labelColour('Save');
      // Down the coarse box's left edge (dashes: take the strongest of several pixels).
      const along = (nx: number, from: number) => Array.from({ length: 9 }, (_, k): [number, number] => [left + nx * w + 1, top + (from + k * 0.005) * h]);
      const coarse = (await overlayPixels(page, along(0.1, 0.15))).filter((p): p is number[] => p !== null);
      const strongest = coarse.reduce((a, b) => (b[3]! > a[3]! ? b : a));
      assert.ok(strongest[3]! > 50 && strongest[3]! < 160, `the first pass is faint (alpha ${strongest[3]})`);
      assert.ok(coarse.some((p) => p[3]! < strongest[3]! / 2), 'and dashed: gaps along its edge');
      const solid = (await overlayPixels(page, along(0.5, 0.55))).filter((p): p is number[] => p !== null);
      for (const p of solid) assertColour(p, colour, 'the refined box edge');
      assert.ok(solid.every((p) => p[3]! > 200), 'the refined box is solid');
      assert.deepEqual(await page.$$eval('.region-list li', (es) => es.map((e) => e.textContent)), ['Save[500, 400, 700, 560] pxrefined']);
    } finally {
      await page.close();
    }
  });

  it('Ask about a region: a drag draws the rectangle, the button sends it in original pixels, the host’s text lands in the question box, and the asked region is drawn dashed', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      await openTurn(page, { width: 2000, height: 1000 }, [], 'ok');
      await page.click('.stage .select-region');
      assert.equal(await page.locator('.stage .select-region').getAttribute('aria-pressed'), 'true');
      const [left, top, w, h] = await regionImageBox(page, '.stage img');
      // From 10 %, 20 % to 40 %, 60 % of the shown image.
      await page.mouse.move(left + 0.1 * w, top + 0.2 * h);
      await page.mouse.down();
      await page.mouse.move(left + 0.25 * w, top + 0.4 * h, { steps: 3 });
      await page.mouse.move(left + 0.4 * w, top + 0.6 * h, { steps: 3 });
      await page.mouse.up();
      const draft = await page.evaluate(() => {
        const r = document.querySelector('.region-draft')!.getBoundingClientRect();
        return [r.left, r.top, r.width, r.height];
      });
      [left + 0.1 * w, top + 0.2 * h, 0.3 * w, 0.4 * h].forEach((want, k) => assert.ok(Math.abs(draft[k]! - want) <= 1.5, `draft ${k}: ${draft[k]} vs ${want}`));
      await page.click('.stage .ask-region');
      const [msg] = (await sent(page)) as { type: string; imageId: string; rect: { x: number; y: number; width: number; height: number } }[];
      assert.equal(msg!.type, 'askRegion');
      assert.equal(msg!.imageId, 'img');
      // Whole original pixels of the 2000×1000 image, within a CSS pixel's worth of the drag.
      const scale = 2000 / w;
      [200, 200, 600, 400].forEach((want, k) => assert.ok(Math.abs([msg!.rect.x, msg!.rect.y, msg!.rect.width, msg!.rect.height][k]! - want) <= scale, `rect ${k}: ${JSON.stringify(msg!.rect)}`));
      assert.equal(await page.locator('.region-draft').isVisible(), false, 'the selection ends');
      assert.equal(await page.locator('.stage .select-region').getAttribute('aria-pressed'), 'false');
      // The host answers with the prompt: it goes in the question box, to edit and send.
      const text = 'Please provide a short description for this region: <box>[[100, 200, 300, 400]]</box>';
      await post(page, { type: 'compose', text });
      assert.equal(await page.locator('.composer textarea').inputValue(), text);
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'TEXTAREA');
      // A turn asking about a region draws it: white dashes over a dark edge.
      const asked = { ...turn({ src: await page.evaluate(() => document.querySelector<HTMLImageElement>('.stage img')!.src), width: 2000, height: 1000 }, [], 'A button.'), question: text, referred: [[0.1, 0.2, 0.3, 0.4]] as [number, number, number, number][] };
      await post(page, { type: 'snapshot', turns: [asked] });
      await page.waitForFunction(() => document.querySelector('canvas.overlay')?.getAttribute('data-referred') === '1');
      const [l2, t2, w2, h2] = await regionImageBox(page, '.stage img');
      const edge = await overlayPixels(page, Array.from({ length: 12 }, (_, k): [number, number] => [l2 + 0.1 * w2 + 1.5, t2 + (0.25 + k * 0.008) * h2]), '.stage canvas.overlay');
      const painted = edge.filter((p): p is number[] => p !== null && p[3]! > 150);
      assert.ok(painted.some((p) => p[0]! > 200 && p[1]! > 200 && p[2]! > 200), `white dashes on the left edge: ${JSON.stringify(edge)}`);
      assert.ok(painted.some((p) => p[0]! < 60 && p[1]! < 60 && p[2]! < 60), 'a dark edge between the dashes');
    } finally {
      await page.close();
    }
  });

  it('What the model saw: the tile grid over the image with the resize note, the grid-sized copy on request; an enlarged waiting image offers fewer tiles', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      const modelCopy = join(dir, 'model-copy.png');
      writeFileSync(modelCopy, encodePng(1792, 896, solidImage(1792, 896, [10, 10, 10, 255])));
      await openTurn(page, { width: 3840, height: 2160 }, [], 'ok');
      const src = await page.evaluate(() => document.querySelector<HTMLImageElement>('.stage img')!.src);
      const view = turn({ src, width: 3840, height: 2160 }, []);
      for (const image of [...view.images, view.target!]) Object.assign(image, { grid: { cols: 4, rows: 2, thumbnail: true }, modelSrc: pathToFileURL(modelCopy).href, tiles: 9, tokens: 2306 });
      await post(page, { type: 'snapshot', turns: [view] });
      await page.locator('.stage .show-sight').waitFor();
      await page.click('.stage .show-sight');
      assert.equal(await page.locator('canvas.overlay').getAttribute('data-sight'), '4x2');
      assert.equal(await page.locator('.stage .model-sight').textContent(), 'What the model saw: shrunk 2.4×: text under ~10 px may be unreadable. 4×2 tiles × 256 + thumbnail 256 + 2 = 2 306 tokens.');
      // A grid line a quarter of the way across: painted.
      const [left, top, w, h] = await regionImageBox(page, '.stage img');
      const line = await overlayPixels(page, [-1, 0, 1].map((d): [number, number] => [left + 0.25 * w + d, top + 0.7 * h]), '.stage canvas.overlay');
      assert.ok(line.some((p) => p !== null && p[3]! > 150), `the grid line at a quarter: ${JSON.stringify(line)}`);
      await page.click('.stage .model-view');
      await page.waitForFunction((m) => document.querySelector<HTMLImageElement>('.stage img')!.src === m, pathToFileURL(modelCopy).href);
      await page.click('.stage .model-view');
      await page.waitForFunction((o) => document.querySelector<HTMLImageElement>('.stage img')!.src === o, src);
      // A waiting 456×346 image on 13 tiles.
      await post(page, { type: 'pending', images: [{ id: 'small', src, name: 'region.png', width: 456, height: 346, tiles: 13, tokens: 3330, grid: { cols: 4, rows: 3, thumbnail: true } }], error: null });
      await page.locator('.attachment .model-sight.costly').waitFor();
      assert.match((await page.locator('.attachment .model-sight').textContent())!, /^enlarged 3\.9× to 13 tiles: 3 330 tokens, more than a whole 1920×1080 screen \(2 306\)/);
      await page.selectOption('.attachment .fewer-tiles', '1');
      assert.deepEqual(await sent(page), [{ type: 'setAttachmentTiles', id: 'small', maxTiles: 1 }]);
    } finally {
      await page.close();
    }
  });

  it('the region list exports: each button asks the host for its format', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      await openTurn(page, { width: 1000, height: 800 }, regions, 'ok');
      assert.deepEqual(await page.$$eval('.region-exports button', (es) => es.map((e) => e.textContent)), ['JSON', 'CSV', 'Markdown', 'Copy as Playwright click', 'Copy as pyautogui']);
      for (const format of ['json', 'csv', 'markdown', 'playwright', 'pyautogui']) await page.click(`.region-exports button[data-format="${format}"]`);
      assert.deepEqual(
        await sent(page),
        ['json', 'csv', 'markdown', 'playwright', 'pyautogui'].map((format) => ({ type: 'exportRegions', turnId: 't1', format })),
      );
    } finally {
      await page.close();
    }
  });

  it('a preset sends the target with the preset id; the host writes the prompt', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(url);
      await page.click('.presets button[data-preset="locate"]');
      await page.fill('.composer textarea', 'the Save button');
      await page.press('.composer textarea', 'Enter');
      await page.fill('.composer textarea', 'plain question');
      await page.press('.composer textarea', 'Enter');
      assert.deepEqual(await sent(page), [
        { type: 'ask', text: 'the Save button', preset: 'locate' },
        { type: 'ask', text: 'plain question' },
      ]);
    } finally {
      await page.close();
    }
  });

  it('renders model output as text, never as markup', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(url);
      const evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> <ref>a<b>c</b></ref>';
      const t: TurnView = { id: 'x', question: '<b>q</b>', images: [], target: null, answer: evil, status: 'done', regions: [], error: null, stats: null };
      await post(page, { type: 'snapshot', turns: [t] });
      await page.waitForSelector('.answer');
      await page.evaluate(() => new Promise(requestAnimationFrame));
      assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
      assert.equal(await page.locator('.answer img, .answer script, .question b').count(), 0);
      assert.match((await page.locator('.answer').textContent()) ?? '', /<img src=x/);
    } finally {
      await page.close();
    }
  });

  it('ignores malformed host messages', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(url);
      await page.evaluate(() => window.postMessage({ type: 'snapshot', turns: [{ id: 1 }] }, '*'));
      await page.evaluate(() => window.postMessage({ type: 'turn', turn: { id: 't', regions: 'x' } }, '*'));
      // Messages are dispatched in order: once a probe posted after them has arrived (and a frame
      // has been drawn), the view has handled the bad ones.
      await page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            // (Inline, unnamed: tsx would wrap a named function in a helper the page does not have.)
            window.addEventListener('message', (e: MessageEvent) => {
              if ((e.data as { type?: string } | null)?.type === 'test-probe') requestAnimationFrame(() => resolve());
            });
            window.postMessage({ type: 'test-probe' }, '*');
          }),
      );
      assert.equal(await page.locator('.turn').count(), 0);
      assert.equal(await page.locator('.empty').count(), 1);
    } finally {
      await page.close();
    }
  });
});
