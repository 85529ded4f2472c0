// The chat webview bundle (dist/webview.js) in headless Chromium under the panel's CSP, driven
// with the real host→webview messages; everything it sends back must pass the host's validation.
import { strict as assert } from 'node:assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, REPO_ROOT } from '../e2e/harness';
import { encodePng, solidImage } from '../fixtures/png';
import { parseMessage } from '../../src/protocol/validate';
import { type HostMessage, type ImageView, type TurnView, WebviewMessage } from '../../src/protocol/webview';
import { bundlePage, type BundlePage } from './page';

let browser: Browser;
let page: BundlePage;
const PNG = encodePng(800, 400, solidImage(800, 400, [40, 120, 200, 255]));

before(async () => {
  browser = await launchBrowser();
  page = bundlePage({ viewType: 'internvlLens.chat', scripts: ['webview.js'], style: 'webview.css', imgSources: ['data:'], body: '<main id="app"></main>' });
  copyFileSync(join(REPO_ROOT, 'dist', 'codicon.ttf'), join(page.dir, 'codicon.ttf'));
  writeFileSync(join(page.dir, 'shot.png'), PNG);
});
after(() => browser?.close());

const image = (id: string, extra: Partial<ImageView> = {}): ImageView => ({ id, src: 'shot.png', name: `${id}.png`, width: 800, height: 400, tiles: 3, tokens: 770, ...extra });
const turn = (t: Partial<TurnView> & { id: string }): TurnView => ({ question: 'What is this?', images: [], target: null, answer: '', status: 'done', regions: [], error: null, stats: null, ...t });

async function open(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 500, height: 900 } });
  // Every CSP violation and uncaught error, as evidence that nothing escaped.
  await p.addInitScript(() => {
    const w = window as unknown as { violations: string[]; errors: string[] };
    w.violations = [];
    w.errors = [];
    document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
    window.addEventListener('error', (e) => w.errors.push(String(e.message)));
  });
  await p.goto(page.url);
  await p.waitForSelector('.composer textarea');
  return p;
}

const post = (p: Page, msg: HostMessage) => p.evaluate((m) => window.postMessage(m, '*'), msg);

/** What the webview sent, each message checked against the host's schema, `ready` left out. */
async function sent(p: Page): Promise<WebviewMessage[]> {
  const raw = await p.evaluate(() => (window as unknown as { sent: unknown[] }).sent);
  return raw.map((m) => parseMessage('webview', WebviewMessage, m)).filter((m) => m.type !== 'ready');
}
const clearSent = (p: Page) => p.evaluate(() => ((window as unknown as { sent: unknown[] }).sent.length = 0));

describe('chat webview', () => {
  it('streams markdown as it arrives, with code blocks that copy', async () => {
    const p = await open();
    try {
      await post(p, { type: 'snapshot', turns: [turn({ id: 't1', status: 'streaming' })] });
      const chunks = ['Here is **bo', 'ld** text and `code`.\n\n```ts\nconst x = 1;\n', '```\n\n- one\n- two'];
      for (const text of chunks) {
        await post(p, { type: 'token', turnId: 't1', text });
        await p.waitForFunction((n) => document.querySelector<HTMLElement>('.answer')!.dataset.chunks === String(n), chunks.indexOf(text) + 1);
      }
      await p.waitForSelector('.answer li:nth-child(2)');
      assert.equal(await p.locator('.answer strong').textContent(), 'bold');
      assert.equal(await p.locator('.answer p code').textContent(), 'code');
      assert.equal(await p.locator('.answer pre code').textContent(), 'const x = 1;\n');
      assert.equal(await p.locator('.turn').getAttribute('data-status'), 'streaming');
      assert.equal(await p.locator('.turn-actions .stop-turn').isVisible(), true, 'a running turn offers Stop');
      await p.hover('.answer .code-block');
      await p.click('.answer .copy-code');
      await post(p, { type: 'turn', turn: turn({ id: 't1', answer: chunks.join(''), stats: '12 generated · 30.0 tok/s' }) });
      await p.waitForSelector('.turn[data-status="done"]');
      assert.match((await p.locator('.status').textContent()) ?? '', /30\.0 tok\/s/);
      assert.deepEqual(await sent(p), [{ type: 'copyText', text: 'const x = 1;\n' }]);
    } finally {
      await p.close();
    }
  });

  it('shows progress: loading n %, encoding tiles, generating', async () => {
    const p = await open();
    try {
      await post(p, { type: 'snapshot', turns: [turn({ id: 't1', status: 'streaming', images: [image('a'), image('b')] })] });
      await post(p, { type: 'progress', turnId: 't1', progress: { phase: 'loading', percent: 42 } });
      await p.locator('.status', { hasText: 'Loading the model 42 %' }).waitFor();
      await post(p, { type: 'progress', turnId: 't1', progress: { phase: 'encoding', tiles: 6 } });
      await p.locator('.status', { hasText: 'Encoding the images: 6 tiles' }).waitFor();
      // The spinner is vscode-elements' progress ring, rendered (shadow DOM, styles) under the CSP.
      assert.equal(await p.locator('.status vscode-progress-ring.spinner').count(), 1);
      assert.equal(await p.evaluate(() => document.querySelector('vscode-progress-ring')!.shadowRoot?.querySelector('svg') !== null), true);
      assert.deepEqual(await p.evaluate(() => (window as unknown as { violations: string[] }).violations), [], 'no CSP violation');
      // The first token: generating, no rate yet; then the host's live rate, a few times a second.
      await post(p, { type: 'token', turnId: 't1', text: 'The' });
      await p.locator('.status', { hasText: 'Generating…' }).waitFor();
      await post(p, { type: 'progress', turnId: 't1', progress: { phase: 'generating', tokensPerSecond: 17.25, tokens: 9, approximate: false } });
      await p.locator('.status', { hasText: 'Generating — 17.3 tok/s' }).waitFor();
      // More tokens and a region do not reset the rate; a new reading replaces it in place.
      const line = await p.locator('.status .status-line').elementHandle();
      await post(p, { type: 'token', turnId: 't1', text: ' button' });
      await post(p, { type: 'progress', turnId: 't1', progress: { phase: 'generating', tokensPerSecond: 21.04, tokens: 15, approximate: false } });
      await p.locator('.status', { hasText: 'Generating — 21.0 tok/s' }).waitFor();
      assert.equal(await line!.evaluate((e) => e.isConnected), true, 'the status line is updated, not rebuilt');
      assert.equal(await p.locator('.status .status-rate').getAttribute('aria-live'), 'off', 'the figure is not read out four times a second');
      // A remote server's stream pieces are not counted tokens: the rate says it is approximate.
      await post(p, { type: 'progress', turnId: 't1', progress: { phase: 'generating', tokensPerSecond: 21.6, tokens: 20, approximate: true } });
      await p.locator('.status', { hasText: 'Generating — ~22 tok/s' }).waitFor();
      // Done: the final stats replace the live rate.
      await post(p, { type: 'turn', turn: turn({ id: 't1', images: [image('a'), image('b')], answer: 'The button', stats: '20 generated · 21.2 tok/s' }) });
      await p.locator('.status', { hasText: '20 generated · 21.2 tok/s' }).waitFor();
      assert.equal(await p.locator('.status .status-rate').textContent(), '');
      assert.deepEqual(await p.$$eval('.image-number', (es) => es.map((e) => e.textContent)), ['Image-1', 'Image-2']);
    } finally {
      await p.close();
    }
  });

  it('never runs model output: an XSS corpus renders inert and nothing hits the CSP', async () => {
    const corpus = [
      '<script>window.pwned = "script"</script>',
      '<img src=x onerror="window.pwned = \'img\'">',
      '<svg onload="window.pwned = \'svg\'"><script>window.pwned = "svg script"</script></svg>',
      '<svg><a xlink:href="javascript:window.pwned=\'svg link\'"><text y="20">click</text></a></svg>',
      '[click me](javascript:window.pwned="md link")',
      '[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cucHduZWQ9MTwvc2NyaXB0Pg==)',
      '<a href="javascript:window.pwned=\'a\'">a</a>',
      '<iframe src="javascript:window.pwned=\'iframe\'"></iframe>',
      '<div style="background:url(javascript:alert(1))" onmouseover="window.pwned=\'hover\'">hover me</div>',
      '![x](https://example.invalid/track.png)',
      '<math><mtext><table><mglyph><style><img src=x onerror="window.pwned=\'mxss\'">',
      '<ref>Save<img src=x onerror="window.pwned=\'ref\'"></ref><box>[[1,2,3,4]]</box>',
      '```html\n<script>window.pwned="code"</script>\n```',
      '<details open ontoggle="window.pwned=\'toggle\'">',
      '<form action="javascript:window.pwned=1"><button>go</button></form>',
      '\uE0000\uE001 forged marker',
      '[ok](https://example.invalid/docs) and <https://example.invalid/auto>',
    ];
    const p = await open();
    try {
      await post(p, {
        type: 'snapshot',
        turns: corpus.map((answer, i) => turn({ id: `x${i}`, question: `<img src=x onerror="window.pwned='question'"> ${i}`, answer })),
      });
      await p.waitForSelector('.turn:nth-child(17) .answer');
      await p.evaluate(() => new Promise(requestAnimationFrame));
      // Try to trigger everything that could carry a handler.
      for (const a of await p.locator('.answer a').all()) await a.click({ modifiers: ['Control'] }).catch(() => undefined);
      await p.locator('.answer').first().hover();
      const state = await p.evaluate(() => {
        const w = window as unknown as { pwned?: string; violations: string[]; errors: string[] };
        const answers = [...document.querySelectorAll('.answer')];
        const attrs = answers.flatMap((a) => [...a.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((at) => `${e.tagName.toLowerCase()}[${at.name}=${at.value}]`)));
        return {
          pwned: w.pwned,
          violations: w.violations,
          errors: w.errors,
          dangerous: answers.flatMap((a) => [...a.querySelectorAll('script, img, svg, iframe, math, style, form, details, object, embed, input, button:not(.copy-code)')].map((e) => e.tagName)),
          // The only style is the region colour the webview itself sets on a phrase.
          handlers: attrs.filter((a) => /\[on\w+=/.test(a) || /\[src=/.test(a) || (/\[style=/.test(a) && !/\[style=--region-colour: #[0-9a-f]{6};\]$/.test(a))),
          hrefs: answers.flatMap((a) => [...a.querySelectorAll('a')].map((e) => e.getAttribute('href'))),
          text: answers.map((a) => a.textContent),
        };
      });
      assert.equal(state.pwned, undefined, 'no payload ran');
      assert.deepEqual(state.violations, [], 'nothing was blocked by the CSP: nothing even tried');
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.dangerous, [], 'no active elements');
      assert.deepEqual(state.handlers, [], 'no handler, style or src attributes');
      assert.deepEqual(state.hrefs, ['https://example.invalid/docs', 'https://example.invalid/auto'], 'only http(s) links survive');
      assert.match(state.text[0]!, /<script>window\.pwned = "script"<\/script>/, 'HTML in the answer shows as text');
      assert.match(state.text[11]!, /Save<img/, 'a region phrase stays text');
      assert.doesNotMatch(state.text[15]!, /[\uE000\uE001]/, 'forged markers are dropped');
      assert.equal(await p.locator('.question b, .question img').count(), 0);
    } finally {
      await p.close();
    }
  });

  it('paste and drop send image bytes; a URI list from the Explorer sends the URIs', async () => {
    const p = await open();
    try {
      const base64 = PNG.toString('base64');
      await p.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'clip.png', { type: 'image/png' }));
        document.querySelector('.composer textarea')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      }, base64);
      // Reading a file is asynchronous: one at a time keeps the order known.
      await p.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length >= 2);
      await p.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
        const target = document.querySelector('.turns')!;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, base64);
      await p.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length >= 3);
      await p.evaluate(() => {
        const dt = new DataTransfer();
        dt.setData('text/uri-list', '# comment\r\nfile:///home/me/shot.png\r\nfile:///home/me/other.jpg');
        document.querySelector('.turns')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      await p.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
        document.querySelector('.turns')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      await p.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length >= 4);
      assert.equal(await p.evaluate(() => document.getElementById('app')!.classList.contains('drop-target')), false, 'the drop highlight is gone');
      assert.deepEqual(await sent(p), [
        { type: 'attachBytes', name: 'clip.png', data: base64 },
        { type: 'attachBytes', name: 'dropped.png', data: base64 },
        { type: 'attachUris', uris: ['file:///home/me/shot.png', 'file:///home/me/other.jpg'] },
      ]);
      await p.locator('.attach-error', { hasText: 'notes.txt is not an image' }).waitFor();
      await p.click('.composer .attach');
      assert.deepEqual((await sent(p)).at(-1), { type: 'pickImages' });
    } finally {
      await p.close();
    }
  });

  it('shows waiting images numbered with their token cost; remove and send', async () => {
    const p = await open();
    try {
      await post(p, { type: 'pending', images: [image('a', { tiles: 9, tokens: 2306 }), image('b')], error: null });
      assert.deepEqual(await p.$$eval('.attachment .attachment-name', (es) => es.map((e) => e.textContent)), ['Image-1: a.png', 'Image-2: b.png']);
      assert.equal(await p.locator('.attachment .attachment-cost').first().textContent(), '800×400 · 9 tiles × 256 = 2,306 tokens');
      // The cost is a vscode-elements badge, rendered (shadow DOM, constructable styles) under the CSP.
      assert.equal(await p.locator('.attachment vscode-badge.attachment-tokens').first().textContent(), '2,306 tokens');
      assert.equal(await p.evaluate(() => document.querySelector('vscode-badge')!.shadowRoot!.adoptedStyleSheets.length > 0), true);
      await p.click('.attachment[data-image-id="a"] .remove');
      await post(p, { type: 'pending', images: [image('b')], error: null });
      // The tray re-renders on the next frame: wait for it (with a deadline), then check exactly one is left.
      await p.waitForFunction(() => document.querySelectorAll('.attachment').length <= 1, null, { timeout: 5000 });
      assert.equal(await p.locator('.attachment').count(), 1);
      assert.equal(await p.locator('.attachment .attachment-name').textContent(), 'b.png', 'one image is not numbered');
      await p.fill('.composer textarea', 'Compare\nthem');
      await p.press('.composer textarea', 'Enter');
      assert.equal(await p.inputValue('.composer textarea'), '');
      // The Send button (a vscode-button of type submit) submits the composer's form too.
      await p.fill('.composer textarea', 'And now?');
      await p.click('.composer .send');
      assert.deepEqual(await sent(p), [
        { type: 'removeAttachment', id: 'a' },
        { type: 'ask', text: 'Compare\nthem' },
        { type: 'ask', text: 'And now?' },
      ]);
      assert.deepEqual(await p.evaluate(() => (window as unknown as { violations: string[] }).violations), [], 'no CSP violation');
      await post(p, { type: 'pending', images: [], error: 'broken.png is not an image.' });
      assert.equal(await p.locator('.attachments').isVisible(), false);
      assert.equal(await p.locator('.attach-error').textContent(), 'broken.png is not an image.');
    } finally {
      await p.close();
    }
  });

  it('Shift+Enter adds a line; Enter sends', async () => {
    const p = await open();
    try {
      await p.click('.composer textarea');
      await p.keyboard.type('first');
      await p.keyboard.press('Shift+Enter');
      await p.keyboard.type('second');
      assert.equal(await p.inputValue('.composer textarea'), 'first\nsecond');
      await p.keyboard.press('Enter');
      assert.deepEqual(await sent(p), [{ type: 'ask', text: 'first\nsecond' }]);
    } finally {
      await p.close();
    }
  });

  it('crops a waiting image: the dragged rectangle arrives in original pixels', async () => {
    const p = await open();
    try {
      await post(p, { type: 'pending', images: [image('a', { width: 1600, height: 800 })], error: null });
      await p.click('.attachment .crop');
      const img = p.locator('.cropper-frame img');
      await p.waitForFunction(() => document.querySelector<HTMLImageElement>('.cropper-frame img')?.complete === true);
      const box = (await img.boundingBox())!;
      await p.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.1);
      await p.mouse.down();
      await p.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.3, { steps: 4 });
      await p.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.6, { steps: 4 });
      await p.mouse.up();
      assert.equal(await p.locator('.cropper-selection').isVisible(), true);
      await p.keyboard.press('Enter');
      assert.equal(await p.locator('.cropper').count(), 0, 'the dialog closed');
      const [msg] = await sent(p);
      assert.equal(msg?.type, 'cropAttachment');
      const rect = (msg as Extract<WebviewMessage, { type: 'cropAttachment' }>).rect!;
      // One CSS pixel of the displayed image is 1600 / width original pixels.
      const tolerance = Math.ceil(1600 / box.width) + 1;
      for (const [got, want] of [
        [rect.x, 400],
        [rect.y, 80],
        [rect.width, 800],
        [rect.height, 400],
      ] as const) {
        assert.ok(Math.abs(got - want) <= tolerance, `crop ${JSON.stringify(rect)}: ${got} ≈ ${want} (±${tolerance})`);
      }
      // Cropped: the cost line says so; the dialog offers the whole image back; Escape cancels.
      await clearSent(p);
      await post(p, { type: 'pending', images: [image('a-crop', { width: 1600, height: 800, crop: { x: 400, y: 80, width: 800, height: 400 } })], error: null });
      assert.match((await p.locator('.attachment-cost').textContent()) ?? '', /^800×400 \(cropped\)/);
      await p.click('.attachment .crop');
      await p.click('.cropper-reset');
      await p.click('.attachment .crop');
      await p.keyboard.press('Escape');
      assert.equal(await p.locator('.cropper').count(), 0);
      // Without a mouse: the first arrow selects the centre half, arrows move it 1 %, Shift resizes.
      await p.click('.attachment .crop');
      await p.keyboard.press('ArrowDown');
      await p.keyboard.press('ArrowRight');
      await p.keyboard.press('ArrowUp');
      await p.keyboard.press('Shift+ArrowLeft');
      await p.locator('.cropper-apply').focus();
      await p.keyboard.press('Space');
      assert.deepEqual(await sent(p), [
        { type: 'cropAttachment', id: 'a-crop', rect: null },
        { type: 'cropAttachment', id: 'a-crop', rect: { x: 416, y: 192, width: 784, height: 400 } },
      ]);
    } finally {
      await p.close();
    }
  });

  it('stop, regenerate, copy, and edit-and-resend the last question', async () => {
    const p = await open();
    try {
      await post(p, { type: 'snapshot', turns: [turn({ id: 'first', answer: 'one' }), turn({ id: 'last', status: 'streaming', answer: 'partial' })] });
      assert.equal(await p.locator('.composer .stop').isVisible(), true);
      await p.click('.turn[data-turn-id="last"] .stop-turn');
      await post(p, { type: 'turn', turn: turn({ id: 'last', status: 'stopped', answer: 'partial' }) });
      await p.waitForSelector('.turn[data-turn-id="last"][data-status="stopped"]');
      assert.equal(await p.locator('.composer .stop').isVisible(), false);
      assert.equal(await p.locator('.turn[data-turn-id="first"] .regenerate').count(), 0, 'only the last turn can be redone');
      assert.equal(await p.locator('.turn[data-turn-id="first"] .edit-question').count(), 0);
      await p.click('.turn[data-turn-id="last"] .regenerate');
      await p.click('.turn[data-turn-id="last"] .copy-answer');
      await p.click('.turn[data-turn-id="last"] .edit-question');
      await p.fill('.turn[data-turn-id="last"] .edit-box', 'A better question');
      await p.press('.turn[data-turn-id="last"] .edit-box', 'Enter');
      assert.deepEqual(await sent(p), [
        { type: 'stop' },
        { type: 'regenerate', turnId: 'last' },
        { type: 'copyText', text: 'partial' },
        { type: 'editResend', turnId: 'last', text: 'A better question' },
      ]);
      // The answer's actions are vscode-elements toolbar buttons: found by role and name, and
      // operable from the keyboard.
      await clearSent(p);
      await p.locator('.turn[data-turn-id="last"]').getByRole('button', { name: 'Copy answer' }).focus();
      await p.keyboard.press('Enter');
      await p.keyboard.press('Tab');
      await p.keyboard.press('Space');
      assert.deepEqual(await sent(p), [
        { type: 'copyText', text: 'partial' },
        { type: 'regenerate', turnId: 'last' },
      ]);
      // Escape leaves the editor without sending.
      await clearSent(p);
      await p.click('.turn[data-turn-id="last"] .edit-question');
      await p.press('.turn[data-turn-id="last"] .edit-box', 'Escape');
      assert.equal(await p.locator('.edit-box').count(), 0);
      assert.deepEqual(await sent(p), []);
      // Errors come with the remedies that fix them: a button each, labelled from the remedy, and
      // the webview sends the remedy itself back (no id to parse).
      const remedies = [{ kind: 'downloadModel' as const }, { kind: 'useExistingModel' as const }, { kind: 'openSetting' as const, setting: 'internvlLens.modelPath' }];
      await post(p, { type: 'turn', turn: turn({ id: 'last', status: 'error', error: { message: 'Model file missing', remedies } }) });
      // The turn renders on the next frame: wait (5 s deadline) for its third button before reading them.
      await p.locator('.turn[data-turn-id="last"] .error .action').nth(remedies.length - 1).waitFor({ timeout: 5000 });
      assert.deepEqual(await p.locator('.turn[data-turn-id="last"] .error .action').allTextContents(), ['Download Model…', 'Use Existing Model Files…', 'Open Settings']);
      await p.click('.turn[data-turn-id="last"] .error .action[data-remedy="openSetting"]');
      await p.click('.turn[data-turn-id="last"] .error .action[data-remedy="downloadModel"]');
      assert.deepEqual(await sent(p), [
        { type: 'remedy', remedy: { kind: 'openSetting', setting: 'internvlLens.modelPath' } },
        { type: 'remedy', remedy: { kind: 'downloadModel' } },
      ]);
      // A turn whose remedy is not one of the union is dropped whole (validated in the webview too).
      const hostile = { message: 'Run this', remedies: [{ kind: 'runCommand', command: 'workbench.action.terminal.new' }] };
      await post(p, { type: 'turn', turn: turn({ id: 'last', status: 'error', error: hostile as never }) });
      await post(p, { type: 'turn', turn: turn({ id: 'last', status: 'error', error: { message: 'Then this', remedies: [{ kind: 'showLog' }] } }) });
      await p.locator('.turn[data-turn-id="last"] .error', { hasText: 'Then this' }).waitFor({ timeout: 5000 });
      assert.deepEqual(await p.locator('.turn[data-turn-id="last"] .error .action').allTextContents(), ['Show Log']);
      assert.equal(await p.locator('.error', { hasText: 'Run this' }).count(), 0, 'the hostile turn was never drawn');
    } finally {
      await p.close();
    }
  });

  it('lists, opens, renames and deletes conversations; New Chat; keyboard reachable', async () => {
    const p = await open();
    try {
      await post(p, {
        type: 'history',
        current: 'c1',
        conversations: [
          { id: 'c1', title: 'Where is Save?', updated: Date.now(), turns: 2 },
          { id: 'c2', title: 'Old diagram', updated: Date.now() - 86_400_000, turns: 1 },
        ],
      });
      assert.equal(await p.locator('.chat-title').textContent(), 'Where is Save?');
      assert.equal(await p.locator('.history').isVisible(), false);
      await p.focus('.history-toggle');
      await p.keyboard.press('Enter');
      assert.equal(await p.locator('.history').isVisible(), true);
      assert.equal(await p.locator('.history-toggle').getAttribute('aria-expanded'), 'true');
      assert.deepEqual(await p.$$eval('.history-title', (es) => es.map((e) => e.textContent)), ['Where is Save?', 'Old diagram']);
      await p.click('.history-item[data-conversation-id="c2"] .history-rename');
      await p.fill('.history-rename-input', 'Architecture diagram');
      await p.press('.history-rename-input', 'Enter');
      await p.click('.history-item[data-conversation-id="c2"] .history-delete');
      await p.click('.history-item[data-conversation-id="c2"] .history-open');
      await p.click('.history-toggle');
      await p.click('.history-clear');
      // The sidebar view's title bar has New Chat: the webview's own shows only in an editor tab.
      assert.equal(await p.locator('.new-chat').isVisible(), false, 'one New Chat in the sidebar');
      await p.evaluate(() => (document.body.dataset.view = 'internvlLens.chatPanel'));
      await p.click('.new-chat');
      assert.deepEqual(await sent(p), [
        { type: 'renameConversation', id: 'c2', title: 'Architecture diagram' },
        { type: 'deleteConversation', id: 'c2' },
        { type: 'openConversation', id: 'c2' },
        { type: 'clearHistory' },
        { type: 'newChat' },
      ]);
      // Every control has an accessible name.
      const unnamed = await p.$$eval('button, vscode-button', (bs) => bs.filter((b) => !(b.getAttribute('aria-label') || b.textContent?.trim())).map((b) => b.className));
      assert.deepEqual(unnamed, []);
      // vscode-toolbar-button names its inner (shadow) button.
      const unnamedTools = await p.$$eval('vscode-toolbar-button', (bs) => bs.filter((b) => !b.shadowRoot?.querySelector('button')?.getAttribute('aria-label')).map((b) => b.className));
      assert.deepEqual(unnamedTools, []);
    } finally {
      await p.close();
    }
  });
});
