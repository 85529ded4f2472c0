// The Capture Region panel bundle in headless Chromium: drag, adjust with a handle, move,
// Enter confirms with the rectangle in image pixels, Esc cancels.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../e2e/harness';
import { bundlePage } from './page';
import { encodePng, gradientImage } from '../fixtures/png';
import type { RegionHostMessage } from '../../src/protocol/region';

const IMAGE = { width: 1600, height: 900 };

describe('Capture Region panel', () => {
  let browser: Browser;
  let page: Page;
  let url: string;
  let dir: string;
  before(async () => {
    browser = await launchBrowser();
    ({ url, dir } = bundlePage({ viewType: 'internvlLens.region', scripts: ['region.js'], style: 'region.css' }));
    writeFileSync(join(dir, 'shot.png'), encodePng(IMAGE.width, IMAGE.height, gradientImage(IMAGE.width, IMAGE.height)));
  });
  after(() => browser?.close());

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(url);
    const show: RegionHostMessage = { type: 'show', src: pathToFileURL(join(dir, 'shot.png')).href, ...IMAGE, scaleFactor: 1 };
    await page.evaluate((m) => window.postMessage(m, '*'), show);
    await page.locator('body[data-loaded="true"]').waitFor();
  });
  afterEach(() => page.close());

  /** Page coordinates of image pixel (x, y) (the image is shown 1:1 here). */
  async function at(x: number, y: number): Promise<[number, number]> {
    const box = (await page.locator('.stage img').boundingBox())!;
    return [box.x + x, box.y + y];
  }
  async function drag(from: [number, number], to: [number, number]): Promise<void> {
    await page.mouse.move(...from);
    await page.mouse.down();
    await page.mouse.move((from[0] + to[0]) / 2, (from[1] + to[1]) / 2, { steps: 3 });
    await page.mouse.move(...to, { steps: 3 });
    await page.mouse.up();
  }
  const sent = () => page.evaluate(() => (window as unknown as { sent: unknown[] }).sent);

  it('shows the screenshot at its real size and says it is ready', async () => {
    const box = (await page.locator('.stage img').boundingBox())!;
    assert.deepEqual([box.width, box.height], [IMAGE.width, IMAGE.height]);
    assert.deepEqual(await sent(), [{ type: 'ready' }]);
    assert.ok(await page.locator('button', { hasText: 'Send' }).isDisabled(), 'Send waits for a selection');
  });

  it('drags a rectangle, adjusts it with a handle and confirms with Enter', async () => {
    await drag(await at(100, 80), await at(400, 280));
    assert.equal(await page.locator('body').getAttribute('data-selection'), '100,80,300,200');
    assert.equal(await page.locator('.toolbar .size').textContent(), '300 × 200');
    // The south-east handle sits on the corner: pull it 50 px further right and 20 px down.
    await drag(await at(400, 280), await at(450, 300));
    assert.equal(await page.locator('body').getAttribute('data-selection'), '100,80,350,220');
    // Drag from inside moves it.
    await drag(await at(200, 200), await at(210, 190));
    assert.equal(await page.locator('body').getAttribute('data-selection'), '110,70,350,220');
    await page.keyboard.press('Enter');
    assert.deepEqual((await sent()).at(-1), { type: 'confirm', rect: { x: 110, y: 70, width: 350, height: 220 } });
  });

  it('cancels with Esc, and a click alone selects nothing', async () => {
    const p = await at(50, 50);
    await page.mouse.click(...p);
    assert.equal(await page.locator('body').getAttribute('data-selection'), '');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    assert.deepEqual(await sent(), [{ type: 'ready' }, { type: 'cancel' }]);
  });
});
