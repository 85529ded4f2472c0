// Explain this video in a real VS Code (code-server): right-click an MP4 in the Explorer, the chat
// shows the clip's frames as a strip with their times, the tiny scripted model answers naming
// Frame3 with a box, and the box is drawn on Frame3, shown large.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { explorerContextMenu, screenshot, useLensWorkbench } from './harness';
import { makeClip } from '../fixtures/clips';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from '../integration/support';
import { frameIndices } from '../../src/video/sampling';
import { clipTime } from '../../src/protocol/clip';

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
  });
});
