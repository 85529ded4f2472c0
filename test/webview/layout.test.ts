// The chat's layout in headless Chromium with the shipped bundle, at the widths users see it
// (sidebar 300 px and 480 px, an editor tab 872 px): the composer never covers the newest
// content, the conversation follows the end until the user scrolls up ("Jump to latest"), the
// question box fits, and a long answer renders over a few frames instead of in one long task.
import { strict as assert } from 'node:assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, REPO_ROOT } from '../e2e/harness';
import { encodePng, solidImage } from '../fixtures/png';
import type { HostMessage, ImageView, TurnView } from '../../src/protocol/webview';
import { chatBottom } from './chat-probes';
import { bundlePage, type BundlePage } from './page';

let browser: Browser;
let page: BundlePage;

before(async () => {
  browser = await launchBrowser();
  page = bundlePage({ viewType: 'internvlLens.chat', scripts: ['webview.js'], style: 'webview.css', imgSources: ['data:'], body: '<main id="app"></main>' });
  copyFileSync(join(REPO_ROOT, 'dist', 'codicon.ttf'), join(page.dir, 'codicon.ttf'));
  writeFileSync(join(page.dir, 'shot.png'), encodePng(800, 400, solidImage(800, 400, [40, 120, 200, 255])));
});
after(() => browser?.close());

const image: ImageView = { id: 'a', src: 'shot.png', name: 'shot.png', width: 800, height: 400, tiles: 3, tokens: 770 };
const turn = (t: Partial<TurnView> & { id: string }): TurnView => ({ question: 'What is this?', images: [], target: null, answer: '', status: 'done', regions: [], error: null, stats: null, ...t });
const longAnswer = (last: string) => [...Array.from({ length: 40 }, (_, i) => `Paragraph ${i + 1}: the model explains one more part of the screenshot.`), last].join('\n\n');

/** The chat at `width`, themed as VS Code themes a webview (its colours as CSS variables). */
async function open(width: number, viewType = 'internvlLens.chat'): Promise<Page> {
  const p = await browser.newPage({ viewport: { width, height: 700 } });
  await p.addInitScript((view) => {
    document.addEventListener('DOMContentLoaded', () => {
      document.body.dataset.view = view;
      document.documentElement.style.cssText = '--vscode-sideBar-background:#181818;--vscode-editor-background:#1f1f1f;--vscode-foreground:#cccccc;--vscode-font-size:13px';
    });
  }, viewType);
  await p.goto(page.url);
  await p.waitForSelector('.composer textarea');
  return p;
}
const post = (p: Page, msg: HostMessage) => p.evaluate((m) => window.postMessage(m, '*'), msg);

describe('chat layout', () => {
  for (const [width, viewType] of [
    [300, 'internvlLens.chat'],
    [480, 'internvlLens.chat'],
    [872, 'internvlLens.chatPanel'],
  ] as const) {
    it(`at ${width} px (${viewType}): the newest answer's last line, its status and error are above the composer, not behind it`, async () => {
      const p = await open(width, viewType);
      try {
        const error = { message: 'The conversation no longer fits the context (5 000 of 4 096 tokens).', remedies: [{ kind: 'newChat' as const }, { kind: 'openSetting' as const, setting: 'internvlLens.contextSize' }] };
        await post(p, {
          type: 'snapshot',
          turns: [turn({ id: 't1', images: [image], target: image, answer: longAnswer('First answer ends.') }), turn({ id: 't2', answer: longAnswer('THE VERY LAST LINE.'), status: 'stopped', error })],
        });
        await p.waitForFunction(() => document.querySelector('.turn[data-turn-id="t2"] .answer')?.textContent?.includes('THE VERY LAST LINE.'));
        await p.waitForFunction(() => document.querySelector<HTMLImageElement>('.stage img')?.complete === true);
        // Following the end settles after the image has its size (a ResizeObserver frame).
        await p.waitForFunction(() => {
          const s = document.querySelector('.conversation') ?? document.scrollingElement!;
          return s.scrollHeight - s.scrollTop - s.clientHeight <= 1;
        }).catch(() => undefined);
        const line = await chatBottom(p);
        assert.ok(line.composerOpaque, 'the composer is opaque');
        assert.equal(line.text, 'THE VERY LAST LINE.');
        assert.ok(line.lineBottom <= line.composerTop, `the last line (bottom ${line.lineBottom}) ends above the composer (top ${line.composerTop})`);
        assert.ok(line.lastLineFree, 'nothing is drawn over the last line');
        assert.ok(!line.questionBoxScrolls, 'no scroll bar in the question box');
        for (const part of ['.turn[data-turn-id="t2"] .status', '.turn[data-turn-id="t2"] .error', '.turn[data-turn-id="t2"] .turn-actions']) {
          const [bottom, composerTop] = await p.evaluate((s) => [document.querySelector(s)!.getBoundingClientRect().bottom, document.querySelector('.composer')!.getBoundingClientRect().top], part);
          assert.ok(bottom! <= composerTop!, `${part} (bottom ${bottom}) is above the composer (${composerTop})`);
        }
        assert.equal(await p.locator('.turn[data-turn-id="t2"] .status').textContent(), 'Stopped.');
        // The question box: its placeholder fits on its line, and it has no scroll bar.
        const box = await p.evaluate(() => {
          const t = document.querySelector<HTMLTextAreaElement>('.composer textarea')!;
          const cs = getComputedStyle(t);
          const g = document.createElement('canvas').getContext('2d')!;
          g.font = `${cs.fontSize} ${cs.fontFamily}`;
          const inner = t.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return { placeholder: g.measureText(t.placeholder).width, inner };
        });
        assert.ok(box.placeholder <= box.inner, `the placeholder (${box.placeholder.toFixed(0)} px) fits the box (${box.inner} px)`);
        assert.equal(await p.locator('.jump-latest').isVisible(), false, 'at the end: no "Jump to latest"');
      } finally {
        await p.close();
      }
    });
  }

  it('at 300 px the history shows each title whole, the image name at its end included', async () => {
    const p = await open(300);
    try {
      const title = (image: string) => `Explain this diagram: what it shows, its main parts and how they… · ${image}`;
      await post(p, {
        type: 'history',
        current: 'c1',
        conversations: [
          { id: 'c1', title: title('flow.png'), updated: Date.now(), turns: 1 },
          { id: 'c2', title: title('architecture.png'), updated: Date.now() - 60_000, turns: 1 },
        ],
      });
      await p.click('.history-toggle');
      const shown = await p.$$eval('.history-title', (es) =>
        es.map((e) => ({ text: e.textContent, cut: e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1 })),
      );
      assert.equal(shown.length, 2);
      for (const t of shown) assert.ok(!t.cut, `"${t.text}" is cut off at 300 px`);
    } finally {
      await p.close();
    }
  });

  it('follows a streaming answer at the end; scrolled up it stays put and offers "Jump to latest"', async () => {
    const p = await open(300);
    try {
      await post(p, { type: 'snapshot', turns: [turn({ id: 't1', answer: longAnswer('Earlier.') }), turn({ id: 't2', status: 'streaming' })] });
      const scroll = () => p.evaluate(() => {
        const s = document.querySelector('.conversation')!;
        return { top: s.scrollTop, fromEnd: s.scrollHeight - s.scrollTop - s.clientHeight };
      });
      for (let i = 0; i < 8; i++) {
        await post(p, { type: 'token', turnId: 't2', text: `Streamed paragraph ${i}.\n\n` });
        await p.waitForFunction((n) => document.querySelector<HTMLElement>('.turn[data-turn-id="t2"] .answer')!.querySelectorAll('p').length === n, i + 1);
        await p.waitForFunction(() => {
          const s = document.querySelector('.conversation')!;
          return s.scrollHeight - s.scrollTop - s.clientHeight <= 1;
        }, null, { timeout: 5000 });
      }
      // The user scrolls up: new tokens no longer move the page, and the button appears.
      await p.locator('.conversation').hover();
      await p.mouse.wheel(0, -600);
      await p.locator('.jump-latest').waitFor();
      const up = await scroll();
      assert.ok(up.fromEnd > 100, `scrolled up (${up.fromEnd} px from the end)`);
      for (let i = 8; i < 12; i++) await post(p, { type: 'token', turnId: 't2', text: `Streamed paragraph ${i}.\n\n` });
      await p.waitForFunction(() => document.querySelector<HTMLElement>('.turn[data-turn-id="t2"] .answer')!.querySelectorAll('p').length === 12);
      assert.equal((await scroll()).top, up.top, 'the page stays where the user is reading');
      assert.equal(await p.locator('.jump-latest').isVisible(), true);
      await p.locator('.jump-latest').click();
      await p.waitForFunction(() => {
        const s = document.querySelector('.conversation')!;
        return s.scrollHeight - s.scrollTop - s.clientHeight <= 1;
      });
      await p.locator('.jump-latest').waitFor({ state: 'hidden' });
      // Following again: the next token keeps the end in view.
      await post(p, { type: 'token', turnId: 't2', text: 'The end.' });
      await p.waitForFunction(() => document.querySelector('.turn[data-turn-id="t2"] .answer')!.textContent!.includes('The end.'));
      await p.waitForFunction(() => {
        const s = document.querySelector('.conversation')!;
        return s.scrollHeight - s.scrollTop - s.clientHeight <= 1;
      });
    } finally {
      await p.close();
    }
  });

  it('renders a 500-region answer over a few frames, in one piece at the end; streaming rebuilds only the tail', async () => {
    const p = await open(480);
    try {
      const lines = Array.from({ length: 500 }, (_, i) => `<ref>item ${i}</ref><box>[[${i % 900}, 10, ${(i % 900) + 50}, 60]]</box>`);
      const regions: TurnView['regions'] = lines.map((_, i) => ({ kind: 'box', label: `item ${i}`, box: [(i % 900) / 1000, 0.01, ((i % 900) + 50) / 1000, 0.06], pixels: [0, 0, 1, 1] }));
      const answer = lines.join('\n');
      // The synchronous part of showing the turn leaves most of the answer for later frames.
      const first = await p.evaluate((msg) => {
        window.dispatchEvent(new MessageEvent('message', { data: msg }));
        const a = document.querySelector<HTMLElement>('.answer')!;
        return { rendered: a.dataset.rendered, refs: a.querySelectorAll('mark.ref').length };
      }, { type: 'snapshot', turns: [turn({ id: 't1', images: [image], target: image, answer, regions })] } satisfies HostMessage);
      // A long answer drawn afresh is parsed in the next frame, and built over the frames after.
      assert.equal(first.rendered, 'partial', 'the answer waits for the next frames');
      assert.ok(first.refs < 500, `not all of the answer is built in the message's task (${first.refs} of 500 phrases)`);
      // Each later frame builds a few milliseconds' worth: the answer arrives in several steps.
      const steps = await p.evaluate(async () => {
        const counts: number[] = [];
        const deadline = performance.now() + 20_000;
        const a = document.querySelector<HTMLElement>('.answer')!;
        while (a.dataset.rendered !== 'complete' && performance.now() < deadline) {
          await new Promise((r) => requestAnimationFrame(r));
          counts.push(a.querySelectorAll('mark.ref').length);
        }
        return counts;
      });
      assert.ok(new Set(steps.filter((n) => n > 0 && n < 500)).size >= 2, `built over several frames: ${steps.join(' ')}`);
      await p.waitForSelector('.answer[data-rendered="complete"]');
      const done = await p.evaluate(() => {
        const a = document.querySelector('.answer')!;
        const refs = [...a.querySelectorAll<HTMLElement>('mark.ref')];
        return { paragraphs: a.querySelectorAll('p').length, refs: refs.length, inOrder: refs.every((r, i) => r.textContent === `item ${i}` && r.dataset.regions === String(i)), boxes: a.querySelectorAll('.coordinates').length, breaks: a.querySelectorAll('br').length };
      });
      assert.deepEqual(done, { paragraphs: 1, refs: 500, inOrder: true, boxes: 500, breaks: 499 }, 'one paragraph, every phrase in order, as one render would give');
      // A streamed tail: the earlier phrases are the same nodes, the new line is there.
      const marked = await p.evaluate(() => ((document.querySelector('mark.ref') as HTMLElement & { kept?: boolean }).kept = true));
      assert.equal(marked, true);
      await post(p, { type: 'turn', turn: turn({ id: 't1', images: [image], target: image, answer: `${answer}\nAnd one more line.`, regions, status: 'done' }) });
      await p.waitForFunction(() => document.querySelector('.answer')!.textContent!.endsWith('And one more line.'));
      assert.equal(await p.evaluate(() => (document.querySelector('mark.ref') as HTMLElement & { kept?: boolean }).kept === true), true, 'the first phrase kept its node');
      // An error arrives: the card is drawn afresh, its answer is taken over whole (no blank frame, no rebuild).
      await post(p, { type: 'turn', turn: turn({ id: 't1', images: [image], target: image, answer: `${answer}\nAnd one more line.`, regions, status: 'error', error: { message: 'The server went away.', remedies: [] } }) });
      await p.locator('.turn[data-status="error"] .error').waitFor({ timeout: 5000 });
      assert.deepEqual(
        await p.evaluate(() => [(document.querySelector('mark.ref') as HTMLElement & { kept?: boolean }).kept === true, document.querySelector<HTMLElement>('.answer')!.dataset.rendered]),
        [true, 'complete'],
        'the new card shows the same answer nodes, complete at once',
      );
    } finally {
      await p.close();
    }
  });
});
