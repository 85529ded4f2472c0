// Mermaid source → PNG in headless Chromium, with the shipped bundles (dist/mermaid.min.js and
// dist/diagram.js) under the panel's Content Security Policy.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectConsole, launchBrowser } from '../e2e/harness';
import { bundlePage } from './page';
import { decodePng, pixelAt } from '../fixtures/png';
import { checkCapturedImage } from '../../src/capture/capture';
import { DiagramWebviewMessage, type DiagramHostMessage } from '../../src/protocol/diagram';
import { parseMessage } from '../../src/protocol/validate';

describe('Mermaid panel', () => {
  let browser: Browser;
  let page: Page;
  let url: string;
  before(async () => {
    browser = await launchBrowser();
    // The panel's policy (src/capture/mermaid.ts): mermaid styles with attributes, the SVG is drawn from a data: URL.
    url = bundlePage({ viewType: 'internvlLens.diagram', scripts: ['mermaid.min.js', 'diagram.js'], imgSources: ['data:'], styleSources: ["'unsafe-inline'"] }).url;
  });
  after(() => browser?.close());

  async function render(source: string, timeout = 20_000): Promise<DiagramWebviewMessage> {
    page = await browser.newPage();
    const console = collectConsole(page);
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length > 0);
    const msg: DiagramHostMessage = { type: 'render', source };
    await page.evaluate((m) => window.postMessage(m, '*'), msg);
    await page.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length > 1, null, { timeout });
    const sent = await page.evaluate(() => (window as unknown as { sent: DiagramWebviewMessage[] }).sent);
    assert.deepEqual(sent[0], { type: 'ready' });
    assert.deepEqual(console.unexpected().filter((m) => /Content Security Policy|Refused/.test(m)), [], 'nothing blocked by the CSP');
    await page.close();
    return sent[1]!;
  }

  it('draws a flowchart to a crisp PNG', async () => {
    const out = await render('flowchart LR\n  A[Capture] --> B{Region?}\n  B -->|yes| C[Crop]\n  B -->|no| D[Whole screen]');
    assert.equal(out.type, 'rendered', JSON.stringify(out).slice(0, 300));
    if (out.type !== 'rendered') return;
    const png = decodePng(Buffer.from(out.png, 'base64'));
    assert.deepEqual([png.width, png.height], [out.width, out.height]);
    assert.ok(png.width > 400 && png.height > 100, `${png.width}×${png.height}`);
    assert.deepEqual(pixelAt(png, 1, 1), [255, 255, 255, 255], 'on white');
    let ink = 0;
    let fill = 0;
    for (let i = 0; i < png.rgba.length; i += 4) {
      const [r, g, b] = [png.rgba[i]!, png.rgba[i + 1]!, png.rgba[i + 2]!];
      if (r < 100 && g < 100 && b < 100) ink++;
      if (Math.abs(r - 0xec) < 6 && Math.abs(g - 0xec) < 6 && Math.abs(b - 0xff) < 6) fill++;
    }
    assert.ok(ink > 500, `labels and edges are drawn (${ink} dark pixels)`);
    assert.ok(fill > 5000, `node boxes are drawn in the theme's fill (${fill} pixels)`);
  });

  it('a large diagram (a PNG of many megabytes) arrives through the host\'s validation', async () => {
    // Hand-drawn look: hachured fills make a PNG of several megabytes from a hundred nodes. Its
    // base64 used to overflow v.base64()'s stack (from ~3 MB), so the host dropped the message and
    // the panel timed out.
    const label = (i: number) => ((i * 2654435761) >>> 0).toString(36);
    const nodes = Array.from({ length: 12 * 8 }, (_, i) => `  n${i}["${label(i)} ${label(i * 7)}<br/>${label(i * 31)}"]${i % 8 ? ` --> n${i - 1}` : ''}\n  style n${i} fill:#${(((i * 2654435761) >>> 8) & 0xffffff).toString(16).padStart(6, '0')}`);
    const out = await render(`---\nconfig:\n  look: handDrawn\n---\nflowchart LR\n${nodes.join('\n')}`, 90_000);
    assert.equal(out.type, 'rendered', JSON.stringify(out).slice(0, 300));
    const msg = parseMessage('Mermaid panel', DiagramWebviewMessage, out);
    assert.equal(msg.type, 'rendered');
    if (msg.type !== 'rendered') return;
    const bytes = Buffer.from(msg.png, 'base64');
    assert.ok(bytes.length > 5 * 1024 * 1024, `${(bytes.length / 1024 / 1024).toFixed(1)} MB`);
    const info = checkCapturedImage(bytes, 'big-mermaid.png');
    assert.deepEqual([info.format, info.width, info.height], ['png', msg.width, msg.height]);
  });

  it('reports a syntax error instead of a picture', async () => {
    const out = await render('flowchart LR\n  A --> --> B [');
    assert.equal(out.type, 'error');
    if (out.type === 'error') assert.match(out.message, /Parse error|error/i);
  });
});
