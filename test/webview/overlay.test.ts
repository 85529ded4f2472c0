// The chat webview bundle in headless Chromium, fed the real host→webview messages: regions
// land on the right pixels of the image at several panel widths.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, REPO_ROOT } from '../e2e/harness';
import { encodePng, solidImage } from '../fixtures/png';
import type { Region } from '../../src/grounding';
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

type Normalised = Region;

/** Regions as the host sends them: with their original-pixel coordinates. */
function withPixels(regions: Normalised[], width: number, height: number): TurnView['regions'] {
  return regions.map((r) =>
    r.kind === 'box'
      ? { ...r, pixels: [r.box[0] * width, r.box[1] * height, r.box[2] * width, r.box[3] * height].map(Math.round) as [number, number, number, number] }
      : { ...r, pixels: [r.point[0] * width, r.point[1] * height].map(Math.round) as [number, number] },
  );
}

function turn(image: { src: string; width: number; height: number }, regions: Normalised[], answer = 'ok'): TurnView {
  const view = { id: 'img', name: 'shot.png', tiles: 9, tokens: 2306, ...image };
  return { id: 't1', question: 'Where?', images: [view], target: view, answer, status: 'done', regions: withPixels(regions, image.width, image.height), error: null, stats: null };
}

async function post(page: Page, msg: HostMessage): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

async function measure(page: Page) {
  return page.evaluate(() => {
    const img = document.querySelector('.stage img')!.getBoundingClientRect();
    const regions = [...document.querySelectorAll<HTMLElement>('.region')].map((e) => {
      const r = e.getBoundingClientRect();
      return { kind: e.classList.contains('box') ? 'box' : 'point', rect: [r.left, r.top, r.right, r.bottom] };
    });
    return { img: [img.left, img.top, img.width, img.height] as const, regions };
  });
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
          await page.waitForTimeout(50);
          const m = await measure(page);
          const [left, top, w, h] = m.img;
          assert.ok(w <= width, `image fits the panel (${w} ≤ ${width})`);
          assert.equal(m.regions.length, regions.length, 'one overlay per region');
          regions.forEach((r, i) => {
            const got = m.regions[i]!.rect;
            const want =
              r.kind === 'box'
                ? [left + r.box[0] * w, top + r.box[1] * h, left + r.box[2] * w, top + r.box[3] * h]
                : [left + r.point[0] * w, top + r.point[1] * h, left + r.point[0] * w, top + r.point[1] * h];
            want.forEach((v, k) => assert.ok(Math.abs(got[k]! - v) <= 1, `${c.name} @${width}px: region ${i} edge ${k} at ${got[k]!.toFixed(2)}, expected ${v.toFixed(2)}`));
          });
        }
      } finally {
        await page.close();
      }
    });
  }

  async function openTurn(page: Page, c: { width: number; height: number }, rs: Normalised[], answer: string): Promise<void> {
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
      const m = await measure(page);
      const [left, top, w, h] = m.img;
      assert.ok(w > 700, `the image is wider than the panel when zoomed (${w})`);
      regions.forEach((r, i) => {
        const got = m.regions[i]!.rect;
        const want = r.kind === 'box' ? [left + r.box[0] * w, top + r.box[1] * h, left + r.box[2] * w, top + r.box[3] * h] : [left + r.point[0] * w, top + r.point[1] * h, left + r.point[0] * w, top + r.point[1] * h];
        want.forEach((v, k) => assert.ok(Math.abs(got[k]! - v) <= 1, `zoomed: region ${i} edge ${k} at ${got[k]}, expected ${v}`));
      });
      await page.click('.zoom-fit');
      assert.ok((await measure(page)).img[2] <= 400);
    } finally {
      await page.close();
    }
  });

  it('hovering a region lights its words and list entry, and the reverse; clicks copy; overlay toggles; export asks the host', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 900 } });
    try {
      const answer = 'Here: <ref>a</ref><box>[[100,200,300,400]]</box> and <ref>b</ref><box>[[550,50,950,900]]</box> c';
      await openTurn(page, { width: 1000, height: 800 }, regions.slice(0, 2), answer);
      await page.hover('.region[data-index="1"]');
      assert.deepEqual(await page.$$eval('.answer .hot', (es) => es.map((e) => e.textContent)), ['b', '▭']);
      assert.equal(await page.locator('.region-list li.hot').getAttribute('data-index'), '1');
      await page.hover('.answer mark.ref >> nth=0');
      assert.deepEqual(await page.$$eval('.region.hot', (es) => es.map((e) => (e as HTMLElement).dataset.index)), ['0']);
      assert.equal(await page.locator('.answer .hot').count(), 2);

      await page.click('.region[data-index="0"]', { position: { x: 5, y: 5 } });
      await page.click('.region-list li[data-index="1"]');
      await page.click('.stage-tools .export');
      assert.deepEqual(await sent(page), [
        { type: 'copyRegion', turnId: 't1', index: 0 },
        { type: 'copyRegion', turnId: 't1', index: 1 },
        { type: 'exportAnnotated', turnId: 't1' },
      ]);
      assert.deepEqual(await page.$$eval('.region-list li', (es) => es.map((e) => e.textContent)), ['a[100, 160, 300, 320] px', 'b[550, 40, 950, 720] px']);
      assert.deepEqual(
        await page.$$eval('.region', (es) => es.map((e) => getComputedStyle(e, '::after').content)),
        ['"a"', '"b"'],
        'each region shows its label',
      );
      await page.click('.toggle-overlay');
      assert.equal(await page.locator('.region').first().isVisible(), false);
      await page.click('.toggle-overlay');
      assert.equal(await page.locator('.region').first().isVisible(), true);
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
      await page.waitForTimeout(50);
      assert.equal(await page.locator('.turn').count(), 0);
      assert.equal(await page.locator('.empty').count(), 1);
    } finally {
      await page.close();
    }
  });
});
