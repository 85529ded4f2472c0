// Explain this video in a real VS Code (code-server): right-click an MP4 in the Explorer, the chat
// shows the clip's frames as a strip with their times, the tiny scripted model answers naming
// Frame3 with a box, and the box is drawn on Frame3, shown large; a follow-up's box too.
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { explorerContextMenu, modelSettings, QUICK_INPUT, runCommand, screenshot, useLensWorkbench } from './harness';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { makeClip } from '../fixtures/clips';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from '../integration/support';
import { frameIndices } from '../../src/video/sampling';
import { clipTime } from '../../src/protocol/clip';

/** Answers the quick pick titled `title` with the item `choice` (typed to filter, Enter picks the first match). */
async function pickItem(page: Page, title: string, choice?: string): Promise<void> {
  const box = page.locator(QUICK_INPUT, { hasText: title });
  await box.waitFor({ state: 'visible', timeout: 15_000 });
  if (choice) await box.locator('input.input').fill(choice);
  await box.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 5_000 });
  await page.keyboard.press('Enter');
  await box.waitFor({ state: 'hidden', timeout: 10_000 });
}

describe('Explain this video in a real VS Code', () => {
  const video = tinyModel('video');
  const lens = useLensWorkbench('video', async (workspace) => {
    // 4 s at 25 fps: frame n shows n as stripes (test/fixtures/clips.ts).
    await makeClip(workspace, { container: 'mp4', fps: 25, seconds: 4, width: 320, height: 180 });
    return { model: video };
  });

  it('Explorer → Explain this video → frame strip → scripted answer → the box on Frame3', async () => {
    await lens.openChat();
    await explorerContextMenu(lens.page, 'clip-25fps-4s-320x180.mp4', 'Explain this video');
    const frame = await lens.chat();
    await lens.withLogs(frame.locator('.turn[data-status="done"]').waitFor({ timeout: 90_000 }));
    const expected = frameIndices({ bound: null, fps: 25, maxFrame: 99 });
    assert.deepEqual(
      await frame.locator('.frame-strip .frame-thumb .frame-label').allTextContents(),
      expected.map((index, i) => `Frame${i + 1} · ${clipTime(index / 25)}`),
      'eight frames at their times',
    );
    assert.equal(await frame.locator('.answer').getAttribute('data-raw'), SCRIPTS.video.text);
    const large = frame.locator('.stage.frame-large');
    assert.equal(await large.getAttribute('data-frame'), '3', 'the frame the answer named is shown large');
    assert.equal(await large.locator('canvas.overlay').getAttribute('data-drawn'), '1', 'its box is drawn on it');
    assert.match((await large.locator('figcaption').textContent()) ?? '', /frame 3 at .* · 1 tile · 258 tokens/);
    assert.match((await frame.locator('.status').textContent()) ?? '', /2064 image/);
    // Another frame, large, has no box.
    await frame.locator('.frame-thumb[data-frame="6"]').click();
    await frame.locator('.stage.frame-large[data-frame="6"]').waitFor({ timeout: 10_000 });
    assert.equal(await frame.locator('.stage.frame-large canvas.overlay').getAttribute('data-drawn'), '0');
    await screenshot(lens.page, 'explain-video');
    // A follow-up: no frame sent again, and its answer's box (the scripted model names Frame3 again)
    // is drawn below it on the clip's frame 3, not on the last frame.
    await frame.locator('.composer textarea').fill('And where is the error dialog?');
    await frame.locator('.composer textarea').press('Enter');
    await lens.withLogs(frame.locator('.turn[data-status="done"]').nth(1).waitFor({ timeout: 90_000 }));
    const follow = frame.locator('.turn').nth(1);
    assert.match((await follow.locator('.status').textContent()) ?? '', /2064 image, not re-encoded/);
    assert.equal(await follow.locator('.question .frame-strip').count(), 0, 'the follow-up sent no frame');
    const followLarge = follow.locator('.clip .stage.frame-large');
    assert.equal(await followLarge.getAttribute('data-frame'), '3');
    assert.equal(await followLarge.locator('canvas.overlay').getAttribute('data-drawn'), '1');
    assert.match((await followLarge.locator('figcaption').textContent()) ?? '', /frame 3 at /);
    await follow.scrollIntoViewIfNeeded();
    await screenshot(lens.page, 'explain-video-follow-up');
  });

  it('Explain this video (choose frames)…: a time range, then 4 frames: the strip is get_index over that part', async () => {
    await runCommand(lens.page, 'InternVL Lens: New Chat');
    await (await lens.chat()).locator('.turn').first().waitFor({ state: 'detached', timeout: 10_000 });
    await explorerContextMenu(lens.page, 'clip-25fps-4s-320x180.mp4', 'Explain this video (choose frames)…');
    await pickItem(lens.page, 'which frames? (the whole clip)', 'A time range');
    const range = lens.page.locator(QUICK_INPUT, { hasText: 'which part?' });
    await range.waitFor({ state: 'visible', timeout: 15_000 });
    await range.locator('input.input').fill('1-3');
    await lens.page.keyboard.press('Enter');
    await pickItem(lens.page, 'which frames? (1 s to 3 s)', '4 frames');
    const frame = await lens.chat();
    await lens.withLogs(frame.locator('.turn[data-status="done"]').waitFor({ timeout: 90_000 }));
    const expected = frameIndices({ bound: [1, 3], fps: 25, maxFrame: 99, numSegments: 4 });
    assert.deepEqual(
      await frame.locator('.turn .frame-strip .frame-thumb .frame-label').allTextContents(),
      expected.map((index, i) => `Frame${i + 1} · ${clipTime(index / 25)}`),
      'four frames between 1 s and 3 s',
    );
    assert.match((await frame.locator('.turn .status').textContent()) ?? '', /1032 image/);
  });

  it('a clip that would not fit the context: refused with the numbers, the frames that fit offered and used', async () => {
    // Settings as a user edits them; the window title shows once VS Code has applied the file.
    mkdirSync(join(lens.workspace, '.vscode'), { recursive: true });
    writeFileSync(join(lens.workspace, '.vscode', 'settings.json'), JSON.stringify({ ...modelSettings(video), 'internvlLens.contextSize': 2048, 'window.title': 'lens-video-2048' }));
    await lens.page.waitForFunction(() => document.title === 'lens-video-2048', undefined, { timeout: 20_000 });
    // A new chat: the first clip's 8 frames in the history would not fit 2,048 tokens either.
    await runCommand(lens.page, 'InternVL Lens: New Chat');
    await (await lens.chat()).locator('.turn').first().waitFor({ state: 'detached', timeout: 10_000 });
    await explorerContextMenu(lens.page, 'clip-25fps-4s-320x180.mp4', 'Explain this video');
    const dialog = lens.page.locator('.monaco-dialog-box');
    await lens.withLogs(dialog.waitFor({ state: 'visible', timeout: 20_000 }));
    // 8 × 258 = 2,064 tokens of frames alone; 3 frames fit beside a 1,024-token answer.
    assert.match(await dialog.innerText(), /8 frames of clip-25fps-4s-320x180\.mp4 need about [\d,]+ tokens \(2,064 for the frames at 258 each[^)]*\); the context holds 2,048\. 3 frames fit \(774 tokens\)\./);
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: 'Use 3 Frames' }).click();
    const frame = await lens.chat();
    await lens.withLogs(frame.locator('.turn[data-status="done"]').waitFor({ timeout: 90_000 }));
    assert.equal(await frame.locator('.turn').count(), 1);
    assert.equal(await frame.locator('.turn .frame-strip .frame-thumb').count(), 3);
    assert.match((await frame.locator('.turn .status').textContent()) ?? '', /774 image/);
  });
});

describe('Record Screen in a real VS Code (private Xvfb)', () => {
  const video = tinyModel('video');
  let x: XDisplay;
  const lens = useLensWorkbench('record-screen', async () => {
    x = await startXDisplay({ width: 1280, height: 800 });
    x.run('xclock', ['-update', '1', '-geometry', '300x300+100+100']);
    return { model: video, env: { DISPLAY: x.display } };
  });
  after(async () => {
    await x?.stop();
  });

  const pick = (title: string, choice?: string) => pickItem(lens.page, title, choice);

  it('a monitor, 30 s at 2 fps: the status-bar item counts time and frames and stops it; the recording is asked about as frames', async () => {
    await lens.openChat();
    await runCommand(lens.page, 'InternVL Lens: Record Screen…');
    await pick('Record which screen?');
    await pick('Record for how long?', '30 s');
    await pick('Frames per second?', '2 fps');
    const item = lens.page.locator('.statusbar-item', { hasText: '/ 0:30' });
    await lens.withLogs(item.waitFor({ state: 'visible', timeout: 15_000 }));
    // It counts: at least three frames recorded, the time shown moving on.
    const shown = await lens.page.waitForFunction(() => {
      const t = [...document.querySelectorAll('.statusbar-item')].map((e) => e.textContent ?? '').find((s) => s.includes('/ 0:30'));
      const m = t && /(\d+):(\d\d) \/ 0:30 · (\d+) frames/.exec(t);
      return m && Number(m[3]) >= 3 ? { seconds: Number(m[1]) * 60 + Number(m[2]), frames: Number(m[3]) } : null;
    }, undefined, { timeout: 30_000 });
    const at = (await shown.jsonValue())!;
    assert.ok(at.seconds >= 1 && at.seconds < 30, `the time shown: ${at.seconds} s with ${at.frames} frames`);
    // Clicking it stops the recording long before its 30 s.
    await item.click();
    await item.waitFor({ state: 'hidden', timeout: 10_000 });
    const frame = await lens.chat();
    await lens.withLogs(frame.locator('.turn[data-status="done"]').waitFor({ timeout: 90_000 }));
    const labels = await frame.locator('.frame-strip .frame-thumb .frame-label').allTextContents();
    assert.equal(labels.length, 8, labels.join(' | '));
    const times = labels.map((l) => {
      const m = /· (\d+):(\d\d)\.(\d)$/.exec(l)!;
      return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) / 10;
    });
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `frame times rise: ${labels.join(' | ')}`);
    assert.ok(times.at(-1)! < 15, `stopped early: the last frame at ${times.at(-1)} s`);
    assert.equal(await frame.locator('.stage.frame-large').getAttribute('data-frame'), '3');
    assert.match((await frame.locator('.question-text').textContent()) ?? '', /screen recording/);
    await screenshot(lens.page, 'record-screen');
  });
});
