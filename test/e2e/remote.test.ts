// The remote engine in a real VS Code (code-server): with internvlLens.engine = remote the status
// bar names the server and model, a question answered by a real HTTP server on 127.0.0.1 (in
// LMDeploy's streaming format) streams into the chat with its boxes, the API key goes through
// "Set API Key" (offered again after a window reload) into SecretStorage and never into settings
// or logs, and switching back to local stops all traffic to the server.
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { drawnRegionCount, explorerItem, listLogs, QUICK_INPUT, runCommand, screenshot, useLensWorkbench } from './harness';
import { OpenAICompatibleServer } from '../fixtures/openai-server';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';

const KEY = 'sk-e2e-3c9d1f7a2b5e';

describe('Remote engine in a real VS Code', () => {
  let api: OpenAICompatibleServer;
  const lens = useLensWorkbench('remote', async (workspace) => {
    api = await OpenAICompatibleServer.start({ flavour: 'lmdeploy', models: ['model'], apiKey: KEY });
    writeFileSync(join(workspace, 'screen.png'), encodePng(800, 500, solidImage(800, 500, [250, 250, 250, 255])));
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    return { settings: { 'internvlLens.engine': 'remote', 'internvlLens.remote.endpoint': api.url, 'internvlLens.remote.model': 'model' } };
  });
  const chat = (): Promise<Frame> => lens.chat();

  after(async () => {
    await api?.close();
  });

  it('names the server in the status bar, asks for the key, streams a grounded answer from the server', async () => {
    await runCommand(lens.page, 'InternVL Lens: Open Chat', 20_000);
    await lens.page.locator('.statusbar-item', { hasText: 'remote: 127.0.0.1/model' }).waitFor({ timeout: 20_000 });
    assert.equal(api.requests.length, 0, 'nothing is sent before a question');

    // Without a key the server refuses; the chat offers the fix.
    let frame = await chat();
    await frame.locator('.composer textarea').fill('hello?');
    await frame.locator('.composer textarea').press('Enter');
    const refused = frame.locator('.turn[data-status="error"]');
    await lens.withLogs(refused.locator('.error', { hasText: '401' }).waitFor({ timeout: 30_000 }));
    assert.deepEqual(await refused.locator('.error .action').allTextContents(), ['Set API Key']);
    // The stored conversation keeps the error whole: after a window reload the fix is still Set API Key.
    await lens.page.reload();
    await lens.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 30_000 });
    frame = await lens.openChat();
    const restored = frame.locator('.turn[data-status="error"]');
    await restored.locator('.error', { hasText: '401' }).waitFor({ timeout: 20_000 });
    assert.deepEqual(await restored.locator('.error .action').allTextContents(), ['Set API Key'], 'the restored turn offers the same fix');
    await restored.locator('.action', { hasText: 'Set API Key' }).click();
    const input = lens.page.locator(`${QUICK_INPUT} input.input`);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await input.getAttribute('type'), 'password');
    await input.fill(KEY);
    await input.press('Enter');
    await lens.page.locator('.notifications-toasts .notification-toast', { hasText: 'API key stored' }).waitFor({ timeout: 10_000 });

    // Locate Element on the open image: the answer streams from the server, boxes drawn.
    api.replies.push({ kind: 'answer', text: SCRIPTS.grounding.text, pieceDelayMs: 50 });
    // Open Chat took over the side bar: show the Explorer again to open the image.
    await runCommand(lens.page, 'View: Show Explorer');
    await explorerItem(lens.page, 'screen.png').dblclick();
    await lens.page.locator('.tabs-container .tab.active', { hasText: 'screen.png' }).waitFor({ timeout: 15_000 });
    await runCommand(lens.page, 'InternVL Lens: Locate Element…', 20_000);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('the Save button');
    await input.press('Enter');
    frame = await chat();
    const turn = frame.locator('.turn').last();
    await turn.and(frame.locator('[data-status="streaming"]')).waitFor({ timeout: 30_000 });
    // Record the answer's length as it grows, to prove it arrived in pieces.
    await frame.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { __lengths: number[] }).__lengths = seen;
      new MutationObserver(() => {
        const n = [...document.querySelectorAll<HTMLElement>('.answer')].at(-1)?.dataset.raw?.length ?? 0;
        if (seen.at(-1) !== n) seen.push(n);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await lens.page.locator('.statusbar-item', { hasText: 'remote: 127.0.0.1/model' }).waitFor({ timeout: 5_000 });
    await turn.and(frame.locator('[data-status="done"]')).waitFor({ timeout: 30_000 });
    assert.equal(await turn.locator('.answer').getAttribute('data-raw'), SCRIPTS.grounding.text, 'the tags survived (skip_special_tokens: false)');
    assert.equal(await drawnRegionCount(turn), 3);
    const lengths = await frame.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths.filter((n) => n > 0));
    assert.ok(lengths.length >= 3 && lengths.at(-1) === SCRIPTS.grounding.text.length, `the answer grew in pieces: ${lengths.join(', ')}`);
    await screenshot(lens.page, 'remote-grounding');

    const request = api.chatRequests.at(-1)!;
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    const body = request.body as { skip_special_tokens: boolean; messages: Array<{ content: Array<{ type: string; image_url?: { url: string; max_dynamic_patch: number } }> }> };
    assert.equal(body.skip_special_tokens, false);
    const image = body.messages.at(-1)!.content.find((p) => p.type === 'image_url')!.image_url!;
    assert.match(image.url, /^data:image\/png;base64,/);
    assert.equal(image.max_dynamic_patch, 12);

    // The key is in SecretStorage only: not in settings, not in any log.
    const files = [...listLogs(lens.server), join(lens.server.userDataDir, 'User', 'settings.json'), join(lens.workspace, '.vscode', 'settings.json')];
    for (const f of files) {
      let text = '';
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      assert.ok(!text.includes(KEY), `${f} contains the API key`);
    }
  });

  it('switching to local stops talking to the server', async () => {
    const before = api.requests.length;
    writeFileSync(join(lens.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'internvlLens.engine': 'local' }));
    await lens.page.locator('.statusbar-item', { hasText: 'InternVL: no model' }).waitFor({ timeout: 20_000 });
    await runCommand(lens.page, 'InternVL Lens: Open Chat');
    const frame = await chat();
    await frame.locator('.composer textarea').fill('and now?');
    await frame.locator('.composer textarea').press('Enter');
    await frame.locator('.turn').last().and(frame.locator('[data-status="error"]')).waitFor({ timeout: 20_000 });
    assert.match((await frame.locator('.turn').last().locator('.error').textContent()) ?? '', /model/i);
    assert.equal(api.requests.length, before, 'local mode sent nothing to the server');
  });
});
