// The chat panel in a real VS Code (code-server): an image pasted into the composer is sent with
// a question to the real llama-server (the endless tiny model keeps streaming until stopped), the
// answer is stopped, the window reloads, and the conversation — question, image, partial
// answer — is still there, read back from the history on disk.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pasteImage, runCommand, screenshot, useLensWorkbench } from './harness';
import { encodePng, solidImage } from '../fixtures/png';
import { tinyModel } from '../integration/support';

describe('Chat panel in a real VS Code', () => {
  // No graphical session for the extension host (as over SSH or in a container), whatever this machine has.
  const lens = useLensWorkbench('chat', () => ({ model: tinyModel('endless'), viewport: { width: 1300, height: 900 }, env: { DISPLAY: '', WAYLAND_DISPLAY: '' } }));

  it('sends a pasted image with a question, stops it, and still has the conversation after a window reload', async () => {
    const page = lens.page;
    let frame = await lens.openChat();
    await frame.locator('.empty').waitFor({ timeout: 15_000 });

    // Paste a 900×600 image into the composer, as Ctrl+V with an image on the clipboard does.
    await pasteImage(frame, encodePng(900, 600, solidImage(900, 600, [30, 160, 90, 255])));
    const cost = frame.locator('.attachment .attachment-cost');
    await lens.withLogs(cost.waitFor({ timeout: 15_000 }));
    // 900×600 on InternVL's grid: 3×2 tiles and a thumbnail, 256 tokens each.
    assert.equal(await cost.textContent(), '900×600 · 7 tiles × 256 = 1,794 tokens');

    await frame.locator('.composer textarea').fill('Describe this picture in detail.');
    await frame.locator('.composer textarea').press('Enter');
    await frame.locator('.attachment').waitFor({ state: 'detached', timeout: 10_000 });
    await frame.waitForFunction(() => (document.querySelector<HTMLElement>('.turn[data-status="streaming"] .answer')?.dataset.raw?.length ?? 0) > 20, null, { timeout: 60_000 });
    // The composer's Stop stays put while the answer grows (the turn's own moves down with it).
    await frame.locator('.composer .stop').click();
    await frame.locator('.turn[data-status="stopped"]').waitFor({ timeout: 30_000 });
    const answer = (await frame.locator('.turn .answer').getAttribute('data-raw')) ?? '';
    assert.ok(answer.length > 20, 'part of the answer arrived before Stop');
    assert.equal(await frame.locator('.turn .stage img').count(), 1, 'the turn shows its image');

    // On disk: one conversation, its image as a file (not base64 in the JSON).
    const history = lens.storagePath('history');
    const [id] = readdirSync(history);
    assert.ok(id && existsSync(join(history, id, 'conversation.json')), 'the conversation is saved');
    assert.equal(readdirSync(join(history, id, 'images')).length, 1);

    await page.reload();
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 30_000 });
    frame = await lens.openChat();
    const turn = frame.locator('.turn[data-status="stopped"]');
    await lens.withLogs(turn.waitFor({ timeout: 20_000 }));
    assert.equal(await turn.locator('.question-text').textContent(), 'Describe this picture in detail.');
    assert.equal(await turn.locator('.answer').getAttribute('data-raw'), answer, 'the answer as it was when stopped');
    await frame.waitForFunction(() => (document.querySelector<HTMLImageElement>('.turn .stage img')?.naturalWidth ?? 0) === 900, null, { timeout: 10_000 });
    assert.match((await turn.locator('.status').textContent()) ?? '', /Stopped/);

    // The history lists it; the regenerate button is offered on the restored last turn.
    await frame.locator('.history-toggle').click();
    assert.deepEqual(await frame.$$eval('.history-title', (es) => es.map((e) => e.textContent)), ['Describe this picture in detail. · pasted.png']);
    assert.equal(await turn.locator('.regenerate').count(), 1);
    await screenshot(page, 'chat-restored');
  });

  it('Paste Image from Clipboard without a display says there is no clipboard, not that there is no display to capture', async () => {
    await runCommand(lens.page, 'InternVL Lens: Paste Image from Clipboard');
    const toast = lens.page.locator('.notifications-toasts .notification-toast', { hasText: 'no clipboard to paste from' });
    await toast.waitFor({ timeout: 15_000 });
    const text = await toast.innerText();
    assert.match(text, /Attach images…/, 'it says how to attach the image instead');
    assert.doesNotMatch(text, /display to capture/);
  });
});
