// The chat's frame strip (Explain this video) in headless Chromium, driven by the host's messages:
// thumbnails with times, a click shows a frame large, a region named with a frame is drawn there.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../e2e/harness';
import { encodePng, solidImage } from '../fixtures/png';
import { parseMessage } from '../../src/protocol/validate';
import { HostMessage, type ImageView, type TurnView, WebviewMessage } from '../../src/protocol/webview';
import { type BundlePage, chatBundlePage } from './page';

let browser: Browser;
let page: BundlePage;

before(async () => {
  browser = await launchBrowser();
  page = chatBundlePage();
  for (let n = 1; n <= 4; n++) writeFileSync(join(page.dir, `f${n}.png`), encodePng(320, 180, solidImage(320, 180, [n * 60, 80, 160, 255])));
});
after(() => browser?.close());

const frame = (n: number): ImageView => ({ id: `frame${n}`, src: `f${n}.png`, name: `bug.mp4 frame ${n}.png`, width: 320, height: 180, tiles: 1, tokens: 258 });
const clipTurn = (extra: Partial<TurnView> = {}): TurnView => ({
  id: 'clip1',
  question: 'What happens in this video?',
  images: [1, 2, 3, 4].map(frame),
  clip: { name: 'bug.mp4', duration: 4, frames: [1, 2, 3, 4].map((n) => ({ number: n, index: n * 25 - 13, seconds: (n * 25 - 13) / 25 })) },
  target: frame(4),
  answer: 'In Frame2 the dialog opens. Frame3: <ref>error dialog</ref><box>[[250,300,750,700]]</box>',
  status: 'done',
  regions: [{ kind: 'box', label: 'error dialog', box: [0.25, 0.3, 0.75, 0.7], pixels: [80, 54, 240, 126], frame: 3 }],
  error: null,
  stats: null,
  ...extra,
});

/** The chat page, ready for host messages (its composer is up). */
async function open(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 500, height: 900 } });
  await p.goto(page.url);
  await p.waitForSelector('.composer textarea');
  return p;
}
const post = (p: Page, msg: HostMessage) => p.evaluate((m) => window.postMessage(m, '*'), msg);
/** The copyRegion messages the page sent, each checked against the host's schema. */
async function copies(p: Page): Promise<WebviewMessage[]> {
  const raw = await p.evaluate(() => (window as unknown as { sent: unknown[] }).sent);
  return raw.map((m) => parseMessage('webview', WebviewMessage, m)).filter((m) => m.type === 'copyRegion');
}

describe('chat webview: a clip', () => {
  it('a strip of frames with their times; the frame the answer named is shown large with its box', async () => {
    const p = await open();
    try {
      await post(p, { type: 'snapshot', turns: [clipTurn()] });
      await p.waitForSelector('.frame-strip .frame-thumb >> nth=3');
      assert.deepEqual(await p.locator('.frame-thumb .frame-label').allTextContents(), ['Frame1 · 0:00.4', 'Frame2 · 0:01.4', 'Frame3 · 0:02.4', 'Frame4 · 0:03.4']);
      assert.equal(await p.locator('.turn .stage').count(), 1, 'one large frame, not four images');
      const large = p.locator('.stage.frame-large');
      assert.equal(await large.getAttribute('data-frame'), '3', 'the frame the box was named with');
      assert.equal(await large.getAttribute('data-image-id'), 'frame3');
      assert.equal(await large.locator('.overlay').getAttribute('aria-label'), '1 region over bug.mp4 frame 3.png');
      assert.equal(await p.locator('.frame-thumb[data-frame="3"]').getAttribute('aria-pressed'), 'true');
      assert.match((await p.locator('.frame-thumb[data-frame="3"]').getAttribute('title')) ?? '', /Frame3: frame 62 at 0:02\.4 · 1 region/);
    } finally {
      await p.close();
    }
  });

  it("clicking a frame shows it large (with no box: none is on it); a frame's region list copies the turn's own region", async () => {
    const p = await open();
    try {
      const two: TurnView['regions'] = [
        { kind: 'point', label: 'the cursor', point: [0.5, 0.5], pixels: [160, 90], frame: 2 },
        { kind: 'box', label: 'error dialog', box: [0.25, 0.3, 0.75, 0.7], pixels: [80, 54, 240, 126], frame: 3 },
      ];
      await post(p, { type: 'snapshot', turns: [clipTurn({ regions: two })] });
      await p.waitForSelector('.stage.frame-large[data-frame="2"]');
      await p.click('.frame-thumb[data-frame="3"]');
      await p.waitForSelector('.stage.frame-large[data-frame="3"]');
      await p.click('.frame-thumb[data-frame="1"]');
      await p.waitForSelector('.stage.frame-large[data-frame="1"]');
      assert.equal(await p.locator('.stage.frame-large .overlay').getAttribute('aria-label'), '0 regions over bug.mp4 frame 1.png');
      assert.equal(await p.locator('.frame-thumb[data-frame="1"]').getAttribute('aria-pressed'), 'true');
      // Clicking the shown frame again hides it.
      await p.click('.frame-thumb[data-frame="1"]');
      await p.waitForFunction(() => document.querySelector('.stage.frame-large') === null);
      await p.click('.frame-thumb[data-frame="3"]');
      await p.waitForSelector('.stage.frame-large[data-frame="3"] .region-list li');
      assert.equal(await p.locator('.stage.frame-large .region-list li').count(), 1, 'only the region on Frame3');
      await p.locator('.stage.frame-large .region-list li').first().click();
      // The second region of the turn: the host finds it by the turn's index.
      assert.deepEqual(await copies(p), [{ type: 'copyRegion', turnId: 'clip1', index: 1 }]);
    } finally {
      await p.close();
    }
  });

  it("a follow-up's box on Frame3 is drawn below its answer on the clip's frame 3, not on the last frame", async () => {
    const p = await open();
    try {
      const first = clipTurn({ answer: 'Frame1 shows the form.', regions: [] });
      const follow = clipTurn({
        id: 'follow1',
        question: 'Where is the error?',
        images: [],
        clip: { ...first.clip!, images: [1, 2, 3, 4].map(frame) },
      });
      await post(p, { type: 'snapshot', turns: [first, follow] });
      const card = p.locator('.turn').nth(1);
      await card.locator('.stage.frame-large[data-frame="3"]').waitFor();
      assert.equal(await card.locator('.question .frame-strip').count(), 0, 'no strip with the question: the follow-up sent no frame');
      assert.equal(await card.locator('.answer ~ .clip .frame-thumb').count(), 4, 'the strip follows the answer');
      assert.equal(await card.locator('.stage').count(), 1);
      assert.equal(await card.locator('.stage.frame-large').getAttribute('data-image-id'), 'frame3');
      assert.equal(await card.locator('.stage.frame-large .overlay').getAttribute('aria-label'), '1 region over bug.mp4 frame 3.png');
      await card.locator('.stage.frame-large .region-list li').first().click();
      assert.deepEqual(await copies(p), [{ type: 'copyRegion', turnId: 'follow1', index: 0 }]);
      // A follow-up with no region shows no image at all.
      await post(p, { type: 'snapshot', turns: [first, { ...follow, answer: 'It closes.', regions: [] }] });
      await p.waitForFunction(() => document.querySelectorAll('.turn')[1]?.querySelector('.answer')?.textContent?.includes('It closes.'));
      assert.equal(await p.locator('.turn').nth(1).locator('.stage, .clip').count(), 0);
    } finally {
      await p.close();
    }
  });

  it("in a 300 px panel the chosen frame's thumbnail is scrolled into view", async () => {
    const p = await browser.newPage({ viewport: { width: 300, height: 900 } });
    try {
      await p.goto(page.url);
      await p.waitForSelector('.composer textarea');
      await post(p, { type: 'snapshot', turns: [clipTurn()] });
      await p.waitForSelector('.frame-thumb[data-frame="3"][aria-pressed="true"] img');
      await p.waitForFunction(() => {
        const strip = document.querySelector('.frame-strip')!.getBoundingClientRect();
        const thumb = document.querySelector('.frame-thumb[data-frame="3"]')!.getBoundingClientRect();
        return thumb.left >= strip.left - 0.5 && thumb.right <= strip.right + 0.5;
      }, undefined, { timeout: 5000 });
      assert.ok(await p.evaluate(() => document.querySelector('.frame-strip')!.scrollLeft > 0), 'the strip scrolled');
    } finally {
      await p.close();
    }
  });

  it('a region on a frame number the clip lacks, or a clip of too many frames, is refused by validation', () => {
    const bad = { type: 'snapshot', turns: [clipTurn({ regions: [{ kind: 'box', label: null, box: [0, 0, 1, 1], pixels: [0, 0, 1, 1], frame: 0 }] })] };
    assert.throws(() => parseMessage('host', HostMessage, bad), /frame/);
    const many = { type: 'snapshot', turns: [clipTurn({ clip: { name: 'x', duration: 1, frames: Array.from({ length: 33 }, (_, i) => ({ number: i + 1, index: i, seconds: i })) } })] };
    assert.throws(() => parseMessage('host', HostMessage, many));
    assert.doesNotThrow(() => parseMessage('host', HostMessage, { type: 'snapshot', turns: [clipTurn()] }));
  });
});
