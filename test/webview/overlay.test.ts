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

function turn(image: { src: string; width: number; height: number }, regions: TurnView['regions']): TurnView {
  const view = { id: 'img', name: 'shot.png', ...image };
  return { id: 't1', question: 'Where?', images: [view], target: view, answer: 'ok', status: 'done', regions, error: null, stats: null };
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
  ];
  const regions: TurnView['regions'] = [
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
        for (const width of [240, 420, 900]) {
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
