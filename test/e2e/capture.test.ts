// Capture in a real VS Code (code-server) whose extension host sees a private X display (Xvfb)
// showing known pixels: Capture Region with a scripted drag ends with exactly that crop in the
// chat; Capture Screen and Paste Image from Clipboard put the whole screen / the clipboard image there.
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { type CodeServer, EXTENSION_ID, explorerContextMenu, explorerItem, exthostLog, listProcesses, QUICK_INPUT, runCommand, screenshot, useLensWorkbench, webviewPanelFrame } from './harness';
import { decodePng, encodePng, gradientImage, pixelAt } from '../fixtures/png';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';

const SCREEN = { width: 1280, height: 800 };
const GREEN = [0, 192, 0, 255];
// Without a window manager, xlogo sits exactly where asked.
const LOGO = { x: 300, y: 200, width: 240, height: 160 };

/** Stored attachments (newest last) in the extension's global storage of this code-server. */
function storedImages(server: CodeServer): string[] {
  const dir = join(server.userDataDir, 'User', 'globalStorage', EXTENSION_ID, 'attachments');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.png'));
  } catch {
    /* none yet */
  }
  return names.map((n) => join(dir, n)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

describe('Capture in a real VS Code', () => {
  let x: XDisplay;
  let clipboardOwner: ChildProcess | undefined;
  const lens = useLensWorkbench('capture', async (workspace) => {
    x = await startXDisplay(SCREEN);
    x.run('xlogo', ['-bg', '#00c000', '-fg', '#000080', '-geometry', `${LOGO.width}x${LOGO.height}+${LOGO.x}+${LOGO.y}`]);
    writeFileSync(
      join(workspace, 'flow.svg'),
      `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><rect x="30" y="30" width="90" height="60" fill="#00c000"/><image href="http://127.0.0.1:9/x.png" width="300" height="150"/></svg>`,
    );
    const huge = encodePng(1, 1, new Uint8Array(4));
    huge.writeUInt32BE(12_000, 16);
    huge.writeUInt32BE(9_000, 20); // 108 megapixels, as its header says
    writeFileSync(join(workspace, 'huge.png'), huge);
    writeFileSync(join(workspace, 'design.md'), '# Design\n\n```mermaid\nflowchart LR\n  A[Capture] --> B[Chat]\n```\n');
    return { env: { DISPLAY: x.display }, viewport: { width: 1280, height: 800 } };
  });

  after(async () => {
    clipboardOwner?.kill();
    await x?.stop();
  });

  const chat = (): Promise<Frame> => lens.chat();

  /** Accepts the question box with its default question. */
  async function acceptQuestion(): Promise<void> {
    const box = lens.page.locator(QUICK_INPUT);
    await box.waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await box.locator('input.input').inputValue(), 'Describe this screenshot.');
    await lens.page.keyboard.press('Enter');
    await box.waitFor({ state: 'hidden', timeout: 5000 });
  }

  /** Size of the last turn's image once the chat shows it. */
  async function lastChatImage(): Promise<{ width: number; height: number; question: string; src: string }> {
    const frame = await chat();
    // Read the size in the same check that sees it loaded: the card may be re-rendered (its
    // image element replaced) when the turn's status changes.
    const loaded = await frame.waitForFunction(
      () => {
        const turns = document.querySelectorAll('.turn');
        const img = turns[turns.length - 1]?.querySelector<HTMLImageElement>('.stage img');
        return img && img.complete && img.naturalWidth > 0 ? { width: img.naturalWidth, height: img.naturalHeight, src: img.src } : null;
      },
      null,
      { timeout: 15_000 },
    );
    const size = (await loaded.jsonValue())!;
    const question = (await frame.locator('.turn').last().locator('.question-text').textContent()) ?? '';
    return { ...size, question };
  }

  /** Whether the extension host of this code-server has mapped a shared object whose path contains `name`. */
  function extensionHostLoaded(name: string): boolean {
    const hosts = listProcesses()
      .filter((p) => p.pgid === lens.server.pid && p.cmdline.includes('extensionHost'))
      .map((p) => p.pid);
    assert.ok(hosts.length > 0, 'an extension host runs');
    return hosts.some((pid) => readFileSync(`/proc/${pid}/maps`, 'utf8').includes(name));
  }

  it('activation loads no native capture library; the first capture does', async () => {
    await runCommand(lens.page, 'InternVL Lens: Open Chat');
    await chat();
    assert.equal(extensionHostLoaded('node-screenshots'), false, 'node-screenshots is not loaded at activation');
  });

  it('Capture Region: a scripted drag puts exactly that crop in the chat', async () => {
    await runCommand(lens.page, 'InternVL Lens: Capture Region');
    const panel = await lens.withLogs(webviewPanelFrame(lens.page, 'internvlLens.region'));
    await panel.locator('body[data-loaded="true"]').waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
      console.log('region panel never loaded its image:', await panel.evaluate(() => ({ html: document.body.outerHTML.slice(0, 2000), src: document.querySelector('img')?.src })));
      console.log(exthostLog(lens.server, 60, 'InternVL Lens'));
      throw err;
    });
    const img = panel.locator('.stage img');
    // Its top-left on the page (the box Playwright reports is clipped to the visible part).
    const box = (await img.boundingBox())!;
    const size = await img.evaluate((el) => [el.getBoundingClientRect().width, el.getBoundingClientRect().height]);
    assert.deepEqual(size, [SCREEN.width, SCREEN.height], 'shown at its real size');
    // From 10 px above-left of the logo window to 60 × 40 px inside it: a 70 × 50 crop.
    const from = { x: LOGO.x - 10, y: LOGO.y - 10 };
    const to = { x: LOGO.x + 60, y: LOGO.y + 40 };
    await lens.page.mouse.move(box.x + from.x, box.y + from.y);
    await lens.page.mouse.down();
    await lens.page.mouse.move(box.x + (from.x + to.x) / 2, box.y + (from.y + to.y) / 2, { steps: 4 });
    await lens.page.mouse.move(box.x + to.x, box.y + to.y, { steps: 4 });
    await lens.page.mouse.up();
    assert.equal(await panel.locator('body').getAttribute('data-selection'), `${from.x},${from.y},70,50`);
    await screenshot(lens.page, 'capture-region-panel');
    const before = storedImages(lens.server).length;
    await lens.page.keyboard.press('Enter');
    await acceptQuestion();

    const shown = await lastChatImage();
    assert.deepEqual([shown.width, shown.height], [70, 50], 'the crop is in the chat');
    assert.match(shown.src, /^data:image\/jpeg;base64,/, 'the chat shows the quick display copy, inline');
    assert.equal(shown.question, 'Describe this screenshot.');
    // The lossless original is written just after the chat shows the display copy.
    const stored = await waitFor('the lossless PNG stored', async () => (storedImages(lens.server).length === before + 1 ? storedImages(lens.server) : undefined));
    const png = decodePng(readFileSync(stored.at(-1)!));
    assert.deepEqual([png.width, png.height], [70, 50]);
    assert.deepEqual(pixelAt(png, 15, 15), GREEN, 'inside the logo window');
    assert.deepEqual(pixelAt(png, 69, 49), GREEN, 'bottom-right corner');
    assert.notDeepEqual(pixelAt(png, 5, 5), GREEN, 'outside, above-left of the window');
    assert.equal(await lens.page.locator('.tabs-container .tab', { hasText: 'Capture Region' }).count(), 0, 'the panel closed');
    await screenshot(lens.page, 'capture-region-chat');
    assert.ok(extensionHostLoaded('node-screenshots'), 'the capture loaded node-screenshots');
  });

  it('Capture Region: Esc cancels and nothing is stored', async () => {
    const before = storedImages(lens.server).length;
    await runCommand(lens.page, 'InternVL Lens: Capture Region');
    const panel = await webviewPanelFrame(lens.page, 'internvlLens.region');
    await panel.locator('body[data-loaded="true"]').waitFor({ timeout: 15_000 });
    const box = (await panel.locator('.stage img').boundingBox())!;
    await lens.page.mouse.click(box.x + 5, box.y + 5);
    await lens.page.keyboard.press('Escape');
    await lens.page.locator('.tabs-container .tab', { hasText: 'Capture Region' }).waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(storedImages(lens.server).length, before);
  });

  it('Capture Screen: the whole screen, in device pixels', async () => {
    const before = storedImages(lens.server).length;
    await runCommand(lens.page, 'InternVL Lens: Capture Screen');
    await acceptQuestion();
    const shown = await waitFor('the screen capture in the chat', async () => {
      const img = await lastChatImage();
      return img.width === SCREEN.width && img.height === SCREEN.height ? img : undefined;
    });
    assert.match(shown.src, /^data:image\/jpeg;base64,/, 'the chat shows the quick display copy, inline');
    const stored = await waitFor('the lossless PNG stored', async () => (storedImages(lens.server).length === before + 1 ? storedImages(lens.server) : undefined));
    const png = decodePng(readFileSync(stored.at(-1)!));
    assert.deepEqual([png.width, png.height], [SCREEN.width, SCREEN.height]);
    assert.deepEqual(pixelAt(png, LOGO.x + 5, LOGO.y + 5), GREEN);
  });

  it('Capture Screen, Escape on the question box: the capture waits in the composer', async () => {
    await runCommand(lens.page, 'InternVL Lens: Capture Screen');
    const box = lens.page.locator(QUICK_INPUT);
    await box.waitFor({ state: 'visible', timeout: 15_000 });
    const hint = (await box.locator('.quick-input-message').textContent()) ?? '';
    assert.match(hint, /Escape puts the capture in the chat/, `the box says what Escape does: "${hint}"`);
    assert.doesNotMatch(hint, /without asking/);
    const turnsBefore = await (await chat()).locator('.turn').count();
    await lens.page.keyboard.press('Escape');
    await box.waitFor({ state: 'hidden', timeout: 5000 });
    const frame = await chat();
    const waiting = frame.locator('.composer .attachment');
    await waiting.waitFor({ timeout: 15_000 });
    assert.match((await waiting.locator('.attachment-cost').textContent()) ?? '', new RegExp(`^${SCREEN.width}×${SCREEN.height} `), 'the screen capture, waiting');
    assert.equal(await frame.locator('.turn').count(), turnsBefore, 'nothing was asked');
    await waiting.locator('.remove').click();
    await waiting.waitFor({ state: 'detached', timeout: 5000 });
  });

  it('Paste Image from Clipboard: the image xclip holds', async () => {
    const image = encodePng(90, 60, gradientImage(90, 60));
    clipboardOwner = spawn('xclip', ['-selection', 'clipboard', '-quiet', '-t', 'image/png', '-i'], { env: x.env, stdio: ['pipe', 'ignore', 'ignore'] });
    clipboardOwner.stdin!.end(image);
    await waitFor('xclip to own the clipboard', async () =>
      (await x.exec('xclip', ['-selection', 'clipboard', '-t', 'TARGETS', '-o'])).toString().includes('image/png') ? true : undefined,
    );
    await runCommand(lens.page, 'InternVL Lens: Paste Image from Clipboard');
    await acceptQuestion();
    await waitFor('the clipboard image in the chat', async () => ((await lastChatImage()).width === 90 ? true : undefined));
    assert.ok(readFileSync(storedImages(lens.server).at(-1)!).equals(image), 'stored byte for byte');
  });

  it('Explain this diagram on an SVG: drawn to pixels in the extension host, then asked about', async () => {
    await explorerContextMenu(lens.page, 'flow.svg', 'Explain this diagram');
    await waitFor('the drawn SVG in the chat', async () => ((await lastChatImage()).width === 2048 ? true : undefined), { timeoutMs: 20_000 });
    const png = decodePng(readFileSync(storedImages(lens.server).at(-1)!));
    assert.deepEqual([png.width, png.height], [2048, 1024]);
    assert.deepEqual(pixelAt(png, Math.round(75 * (2048 / 300)), Math.round(60 * (2048 / 300))), GREEN, 'the rectangle');
    assert.deepEqual(pixelAt(png, 5, 5), [255, 255, 255, 255], 'white where the external image would have been');
  });

  it('Explain this Mermaid diagram: the block under the cursor, drawn by mermaid in a panel', async () => {
    if (!(await explorerItem(lens.page, 'design.md').isVisible())) await runCommand(lens.page, 'View: Show Explorer');
    await explorerItem(lens.page, 'design.md').dblclick();
    await lens.page.locator('.tabs-container .tab.active', { hasText: 'design.md' }).waitFor({ timeout: 10_000 });
    await lens.page.locator('.monaco-editor .view-lines').first().click();
    await lens.page.keyboard.press('Control+End'); // after the block…
    await lens.page.keyboard.press('ArrowUp');
    await lens.page.keyboard.press('ArrowUp'); // …and back into it
    const before = storedImages(lens.server).length;
    await runCommand(lens.page, 'InternVL Lens: Explain this Mermaid diagram');
    await waitFor('the drawn diagram to be stored', async () => (storedImages(lens.server).length > before ? true : undefined), { timeoutMs: 30_000 });
    const png = decodePng(readFileSync(storedImages(lens.server).at(-1)!));
    assert.ok(png.width > 200 && png.height > 50, `${png.width}×${png.height}`);
    const shown = await waitFor('the drawn diagram in the chat', async () => {
      const last = await lastChatImage();
      return last.width === png.width && last.height === png.height ? last : undefined;
    });
    assert.match(shown.question, /^Explain this diagram/);
    assert.equal(await lens.page.locator('.tabs-container .tab', { hasText: 'Mermaid diagram' }).count(), 0, 'the panel closed');
  });

  it('Explain this diagram from the palette on the SVG open in the image preview', async () => {
    if (!(await explorerItem(lens.page, 'flow.svg').isVisible())) await runCommand(lens.page, 'View: Show Explorer');
    await explorerItem(lens.page, 'flow.svg').dblclick();
    await lens.page.locator('.tabs-container .tab.active', { hasText: 'flow.svg' }).waitFor({ timeout: 10_000 });
    await runCommand(lens.page, 'InternVL Lens: Explain this diagram');
    await waitFor('the drawn SVG in the chat again', async () => ((await lastChatImage()).width === 2048 ? true : undefined), { timeoutMs: 20_000 });
  });

  it('refuses an image over the pixel limit from its header, with a notice', async () => {
    if (!(await explorerItem(lens.page, 'huge.png').isVisible())) await runCommand(lens.page, 'View: Show Explorer');
    await explorerContextMenu(lens.page, 'huge.png', 'Explain this diagram');
    await lens.page.locator('.notifications-toasts .notification-toast', { hasText: '12000×9000 (108 megapixels)' }).waitFor({ timeout: 10_000 });
  });

  it('Clear Captures: after New Chat, every stored image (and its model-sized copy) is deleted', async () => {
    assert.ok(storedImages(lens.server).length >= 4, 'the captures above are stored');
    await runCommand(lens.page, 'InternVL Lens: New Chat');
    await runCommand(lens.page, 'InternVL Lens: Clear Captures');
    const dialog = lens.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 10_000 });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await lens.page.locator('.notifications-toasts .notification-toast', { hasText: /Deleted \d+ stored image/ }).waitFor({ timeout: 10_000 });
    assert.deepEqual(storedImages(lens.server), []);
    const attachmentsDir = lens.storagePath('attachments');
    assert.deepEqual(readdirSync(attachmentsDir).filter((n) => n.endsWith('.display.jpg')), [], 'the display copies too');
    const modelDir = lens.storagePath('attachments', 'model');
    assert.deepEqual(readdirSync(modelDir).filter((n) => n.endsWith('.png')), [], 'model-sized copies too');
  });
});
