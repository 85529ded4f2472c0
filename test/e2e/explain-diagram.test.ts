// The walking skeleton, proven in a real VS Code (code-server) in a real browser: right-click a
// PNG in the Explorer, "Explain this diagram", and the real llama.cpp runtime (tiny scripted
// InternVL model) streams an answer whose boxes land on the right pixels.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { type CodeServer, explorerContextMenu, explorerItem, listProcesses, modelSettings, runCommand, screenshot, setSidebarWidth, useLensWorkbench } from './harness';
import { encodePng } from '../fixtures/png';
import { waitFor } from '../fixtures/wait';
import { tinyModel } from '../integration/support';
import { type Box, SCRIPTS } from '../fixtures/scripts';
import { overlayPixels, regionImageBox } from '../webview/overlay-pixels';

const IMAGE = { width: 800, height: 500 };
const GROUNDING_BOXES: readonly Box[] = SCRIPTS.grounding.regions.flatMap((r): readonly Box[] => r.boxes);

/** A diagram with the scripted boxes painted in, so the screenshot shows any misalignment. */
function diagramPng(): Buffer {
  const { width, height } = IMAGE;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([245, 245, 240, 255], i * 4);
  for (const [x1, y1, x2, y2] of GROUNDING_BOXES) {
    const [l, t, r, b] = [(x1 / 1000) * width, (y1 / 1000) * height, (x2 / 1000) * width, (y2 / 1000) * height].map(Math.round) as [number, number, number, number];
    for (let y = t; y < b; y++) for (let x = l; x < r; x++) rgba.set([70, 110, 200, 255], (y * width + x) * 4);
  }
  return encodePng(width, height, rgba);
}

/** The extension's llama-server processes (the built-in build, unpacked into its global storage). */
function serverPids(server: CodeServer): number[] {
  return listProcesses()
    .filter((p) => p.cmdline.includes(server.userDataDir) && /llama-server\b/.test(p.cmdline))
    .map((p) => p.pid);
}

describe('Explain this diagram in a real VS Code', () => {
  const grounding = tinyModel('grounding');
  const endless = tinyModel('endless');
  const baseSettings = modelSettings(grounding);
  const lens = useLensWorkbench('explain-diagram', (workspace) => {
    writeFileSync(join(workspace, 'diagram.png'), diagramPng());
    writeFileSync(join(workspace, 'flow.png'), diagramPng());
    writeFileSync(join(workspace, 'broken.png'), 'this is a text file with an image name\n');
    return { model: grounding };
  });

  /** Changes settings as a user editing the workspace's settings.json would (VS Code watches it). */
  function writeSettings(extra: Record<string, unknown>): void {
    mkdirSync(join(lens.workspace, '.vscode'), { recursive: true });
    writeFileSync(join(lens.workspace, '.vscode', 'settings.json'), JSON.stringify({ ...baseSettings, ...extra }, null, 2));
  }

  const chat = (): Promise<Frame> => lens.chat();
  /** The status bar item while no model is loaded (its circle-outline icon), naming `model`. */
  const idleItem = (model: string) => lens.page.locator('.statusbar-item:has(.codicon-circle-outline)', { hasText: model });

  it('streams the scripted answer and draws one overlay per box on the right pixels at two widths', async () => {
    let frame = await lens.openChat();
    await frame.locator('.empty').waitFor({ timeout: 15_000 });
    // Record every answer text the webview shows, to prove it arrived in pieces.
    await frame.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { __answerLengths: number[] }).__answerLengths = seen;
      new MutationObserver(() => {
        const a = document.querySelector<HTMLElement>('.answer');
        const n = a?.dataset.raw?.length ?? 0;
        if (seen.at(-1) !== n) seen.push(n);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });

    await explorerContextMenu(lens.page, 'diagram.png', 'Explain this diagram');
    frame = await chat();
    const turn = frame.locator('.turn').first();
    await lens.withLogs(turn.and(frame.locator('[data-status="done"]')).waitFor({ timeout: 60_000 }));

    const answer = await frame.$eval('.answer', (el) => ({ raw: (el as HTMLElement).dataset.raw, chunks: Number((el as HTMLElement).dataset.chunks), text: el.textContent }));
    assert.equal(answer.raw, grounding.answer, 'the scripted answer arrived whole');
    // The worker batches tokens every 50 ms, so a 31-token answer from the tiny model arrives in a few messages.
    assert.ok(answer.chunks >= 2, `streamed in ${answer.chunks} token messages`);
    const lengths = await frame.evaluate(() => (window as unknown as { __answerLengths: number[] }).__answerLengths);
    const partial = lengths.filter((n) => n > 0 && n < grounding.answer.length);
    assert.ok(partial.length >= 1, `partial answers were on screen before the whole one: ${JSON.stringify(lengths)}`);
    assert.match(answer.text ?? '', /Save button/);
    assert.doesNotMatch(answer.text ?? '', /<ref>|<box>/, 'markup is rendered, not shown raw');

    // The boxes are painted on the overlay canvas: each edge lies where its coordinates put it.
    const check = async (label: string) => {
      assert.equal(await frame.locator('canvas.overlay').getAttribute('data-drawn'), String(GROUNDING_BOXES.length), `${label}: every box drawn`);
      const [left, top, w, h] = await regionImageBox(frame);
      assert.ok(Math.abs(w / h - IMAGE.width / IMAGE.height) < 0.01, `${label}: the image keeps its aspect ratio`);
      for (const [i, [x1, y1, x2, y2]] of GROUNDING_BOXES.entries()) {
        const [l, t, r, b] = [left + (x1 / 1000) * w, top + (y1 / 1000) * h, left + (x2 / 1000) * w, top + (y2 / 1000) * h];
        const [xm, ym] = [(l + r) / 2, (t + b) / 2];
        const edges = await overlayPixels(frame, [[l + 1, ym], [r - 1, ym], [xm, b - 1], [l - 3, ym], [r + 3, ym]]);
        edges.slice(0, 3).forEach((p, k) => assert.ok(p && p[3]! > 100, `${label}: box ${i} edge ${k} painted (${p})`));
        edges.slice(3).forEach((p, k) => assert.ok(!p || p[3] === 0, `${label}: box ${i} clear ${k === 0 ? 'left' : 'right'} of its edge (${p})`));
      }
      return w;
    };

    // After a resize: the webview has taken the side bar's new width and the boxes sit on the redrawn image.
    const redrawnAt = (sidebar: number) =>
      waitFor(
        `the webview at the side bar's ${sidebar} px, its boxes redrawn over the image`,
        async () => (Math.abs((await frame.evaluate(() => window.innerWidth)) - sidebar) <= 40 ? check(`side bar ${sidebar} px`) : undefined),
        { timeoutMs: 10_000 },
      );
    const narrow = await setSidebarWidth(lens.page, 300);
    const narrowImage = await redrawnAt(narrow);
    const wide = await setSidebarWidth(lens.page, 640);
    const wideImage = await redrawnAt(wide);
    assert.ok(wide - narrow > 200, `the side bar really changed width (${narrow} → ${wide} px)`);
    assert.ok(wideImage - narrowImage > 150, `the image was redrawn at another size (${narrowImage} → ${wideImage} px)`);
    await screenshot(lens.page, 'explain-diagram');
  });

  it('explains the image open in the editor from the command palette', async () => {
    await lens.page.locator('.explorer-folders-view').isVisible().then((v) => (v ? undefined : runCommand(lens.page, 'View: Show Explorer')));
    await explorerItem(lens.page, 'diagram.png').dblclick();
    await lens.page.locator('.tabs-container .tab.active', { hasText: 'diagram.png' }).waitFor({ timeout: 10_000 });
    await runCommand(lens.page, 'InternVL Lens: Explain this diagram');
    const frame = await chat();
    await frame.locator('.turn').nth(1).and(frame.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
    assert.equal(await frame.locator('.turn').nth(1).locator('.answer').getAttribute('data-raw'), grounding.answer);
    assert.equal(await frame.locator('.turn').nth(1).locator('canvas.overlay').getAttribute('data-drawn'), String(GROUNDING_BOXES.length));
  });

  it('a new chat that asks the same about another image gets a title of its own in the history', async () => {
    await runCommand(lens.page, 'InternVL Lens: New Chat');
    let frame = await chat();
    await frame.locator('.empty').waitFor({ timeout: 10_000 });
    await explorerContextMenu(lens.page, 'flow.png', 'Explain this diagram');
    frame = await chat();
    await frame.locator('.turn[data-status="done"]').waitFor({ timeout: 60_000 });
    await frame.locator('.history-toggle').click();
    const titles = () => frame.$$eval('.history-title', (es) => es.map((e) => e.textContent ?? ''));
    await waitFor('both conversations in the history', async () => ((await titles()).length === 2 ? true : undefined), { timeoutMs: 10_000 });
    const [newer, older] = await titles();
    assert.match(newer!, /^Explain this diagram.* · flow\.png$/);
    assert.match(older!, /^Explain this diagram.* · diagram\.png$/);
    // Clear all is not the list's primary (blue) button.
    const clear = await frame.locator('.history-clear').evaluate((b) => (b as HTMLElement & { secondary?: boolean }).secondary === true);
    assert.ok(clear, 'Clear all is a secondary button');
    await screenshot(lens.page, 'explain-diagram-history');
    await frame.locator('.history-toggle').click();
  });

  it('shows the loaded model in the status bar, with a menu that unloads it', async () => {
    const item = lens.page.locator('.statusbar-item', { hasText: 'tiny-internvl3-grounding' });
    await item.waitFor({ timeout: 10_000 });
    // Its tooltip names the same model and how it runs, with nothing unknown in it ("default: ?" was).
    await item.hover();
    const tip = lens.page.locator('.monaco-hover', { hasText: 'InternVL Lens: tiny-internvl3-grounding ready (llama-server: ' }).first();
    await tip.waitFor({ timeout: 10_000 });
    assert.doesNotMatch((await tip.textContent()) ?? '', /\?/);
    await lens.page.mouse.move(600, 300);
    await item.click();
    const unload = lens.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Unload Model' });
    await unload.waitFor({ timeout: 10_000 });
    await unload.click();
    // Unloaded, the item names the model as it did loaded (its general.name, not its file model.gguf).
    await idleItem('tiny-internvl3-grounding').waitFor({ timeout: 10_000 });
    assert.doesNotMatch((await item.textContent()) ?? '', /\.gguf/);
    assert.deepEqual(serverPids(lens.server), [], 'llama-server was ended');
  });

  it('says clearly when a file is not an image', async () => {
    await explorerContextMenu(lens.page, 'broken.png', 'Explain this diagram');
    await lens.page.locator('.notifications-toasts .notification-toast', { hasText: 'broken.png is not an image' }).waitFor({ timeout: 10_000 });
  });

  it('shows an error when llama-server dies mid-answer, and the next question starts a new one', async () => {
    // The endless model in a file of its own; the status bar names the configured model (its
    // general.name) while nothing is loaded, so it shows when VS Code has picked the new setting
    // up: on a loaded machine that takes longer than any fixed sleep.
    const endlessModel = join(lens.server.runDir, 'endless-model.gguf');
    copyFileSync(endless.modelPath, endlessModel);
    await runCommand(lens.page, 'InternVL Lens: Unload Model');
    writeSettings({ 'internvlLens.modelPath': endlessModel, 'internvlLens.mmprojPath': endless.mmprojPath, 'internvlLens.maxTokens': 100_000 });
    await idleItem('tiny-internvl3-endless').waitFor({ timeout: 20_000 });
    await runCommand(lens.page, 'InternVL Lens: Open Chat');
    // A fresh chat: the earlier turns' images (7 tiles each) would not fit the 4096-token context
    // with this question, and would make the first token wait for their encoding.
    await runCommand(lens.page, 'InternVL Lens: New Chat');
    let frame = await chat();
    await frame.locator('.turn').first().waitFor({ state: 'detached', timeout: 10_000 });
    await frame.locator('.composer textarea').fill('Tell me everything.');
    await frame.locator('.composer textarea').press('Enter');
    const streaming = frame.locator('.turn[data-status="streaming"] .answer');
    await frame.waitForFunction(() => (document.querySelector<HTMLElement>('.turn[data-status="streaming"] .answer')?.dataset.raw?.length ?? 0) > 20, null, { timeout: 30_000 });
    assert.ok(await streaming.count(), 'an answer is streaming');
    const before = serverPids(lens.server);
    assert.equal(before.length, 1, `one llama-server runs (${before.join(', ')})`);
    process.kill(before[0]!, 'SIGKILL');
    // The error is shown within a second or so of the crash (the engine sees the exit at once).
    await frame.locator('.turn[data-status="error"] .error', { hasText: 'stopped unexpectedly' }).waitFor({ timeout: 5_000 });
    // The editor keeps working.
    await runCommand(lens.page, 'View: Show Explorer');

    // Back to the grounding model; wait until the status bar names it (not the endless one).
    writeSettings({ 'internvlLens.maxTokens': 1024 });
    await runCommand(lens.page, 'InternVL Lens: Unload Model');
    await idleItem('tiny-internvl3-grounding').waitFor({ timeout: 20_000 });
    await runCommand(lens.page, 'InternVL Lens: Open Chat');
    frame = await chat();
    await frame.locator('.composer textarea').fill('Where is the Save button?');
    await frame.locator('.composer textarea').press('Enter');
    await frame.locator('.turn').last().and(frame.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
    const raw = await frame.locator('.turn').last().locator('.answer').getAttribute('data-raw');
    assert.equal(raw, grounding.answer);
    const after = serverPids(lens.server);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], before[0], 'a new llama-server answered');
  });

  it('points at the setting when the model file is missing', async () => {
    writeSettings({ 'internvlLens.modelPath': '/nonexistent/InternVL3-14B-Instruct-Q4_K_M.gguf' });
    await runCommand(lens.page, 'InternVL Lens: Unload Model');
    // A file whose header cannot be read is named by its file name, without .gguf.
    await idleItem('InternVL3-14B-Instruct-Q4_K_M').waitFor({ timeout: 20_000 });
    await explorerContextMenu(lens.page, 'diagram.png', 'Explain this diagram');
    const toast = lens.page.locator('.notifications-toasts .notification-toast', { hasText: 'does not exist' });
    await toast.waitFor({ timeout: 15_000 });
    assert.match((await toast.textContent()) ?? '', /InternVL3-14B-Instruct-Q4_K_M\.gguf/);
    await toast.getByRole('button', { name: 'Open Settings' }).click();
    await lens.page.locator('.settings-editor').waitFor({ timeout: 10_000 });
    const frame = await chat();
    await frame.locator('.turn[data-status="error"] .error', { hasText: 'does not exist' }).last().waitFor({ timeout: 5_000 });
  });
});
