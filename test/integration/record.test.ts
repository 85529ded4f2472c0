// Record Screen on a private Xvfb while a window moves across it: frames at the asked rate, their
// times as grabbed, each showing the window further right (frames differ), PNGs on disk; a
// recording stopped early keeps what it has; a recording is a clip get_index samples.
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { clipOfRecording, recordScreen } from '../../src/video/record';
import { frameIndices } from '../../src/video/sampling';
import { waitFor } from '../fixtures/wait';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';

const SCREEN = { width: 1280, height: 720 };
let x: XDisplay;
let dir: string;
const savedDisplay = process.env.DISPLAY;

before(async () => {
  x = await startXDisplay(SCREEN);
  process.env.DISPLAY = x.display;
  delete process.env.WAYLAND_DISPLAY;
  await x.exec('xsetroot', ['-solid', '#202020']);
  dir = mkdtempSync(join(tmpdir(), 'lens-record-'));
});
after(async () => {
  await x?.stop();
  if (savedDisplay === undefined) delete process.env.DISPLAY;
  else process.env.DISPLAY = savedDisplay;
  rmSync(dir, { recursive: true, force: true });
});

/** The left edge (in the frame's pixels) of the green window, or -1 when none shows. */
async function greenLeft(png: string): Promise<number> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const y = Math.floor(info.height / 2);
  for (let col = 0; col < info.width; col++) {
    const i = (y * info.width + col) * info.channels;
    if (data[i]! < 60 && data[i + 1]! > 150 && data[i + 2]! < 60) return col;
  }
  return -1;
}

/** An xlogo on green that jumps 60 px right every 150 ms (a new window, then the old one closes). */
function movingWindow(): { stop: () => void } {
  let left = 0;
  let current: ChildProcess | null = null;
  const step = () => {
    const next = x.run('xlogo', ['-bg', '#00c000', '-fg', '#000080', '-geometry', `200x600+${left}+60`]);
    const old = current;
    current = next;
    setTimeout(() => old?.kill(), 100);
    left = (left + 60) % (SCREEN.width - 200);
  };
  step();
  const timer = setInterval(step, 150);
  return {
    stop: () => {
      clearInterval(timer);
      current?.kill();
    },
  };
}

describe('Record Screen (Xvfb)', () => {
  it('2 fps for 3 s while a window moves: 6 frames at their times, each different, as PNGs', async () => {
    const mover = movingWindow();
    try {
      await waitFor('the moving window on screen', async () => (/XLogo/.test((await x.exec('xwininfo', ['-root', '-tree'])).toString()) ? true : undefined));
      const seen: number[] = [];
      const rec = await recordScreen({ fps: 2, seconds: 3, outDir: join(dir, 'a'), onFrame: (n) => seen.push(n) });
      assert.equal(rec.frames.length + rec.skipped, 6, `${rec.frames.length} frames, ${rec.skipped} skipped`);
      assert.ok(rec.frames.length >= 4, `at least 4 of the 6 ticks recorded on a loaded machine (${rec.frames.length})`);
      assert.deepEqual(seen, rec.frames.map((_, i) => i + 1));
      assert.deepEqual([rec.width, rec.height], [1280, 720]);
      assert.ok(rec.duration >= 3 && rec.duration < 6, `duration ${rec.duration}`);
      // Times as grabbed: rising, the first at once, each at (or after) its tick.
      const times = rec.frames.map((f) => f.seconds);
      assert.ok(times[0]! < 0.5, `first at ${times[0]}`);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `times rise: ${times.join(', ')}`);
      for (const [i, f] of rec.frames.entries()) {
        const tick = Number(/frame-(\d+)\.png$/.exec(f.path)![1]);
        assert.ok(f.seconds >= tick * 0.5 - 0.01 && f.seconds < tick * 0.5 + 1, `frame ${i} (tick ${tick}) at ${f.seconds} s`);
        const meta = await sharp(f.path).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1024, 576]);
        assert.ok(statSync(f.path).size > 0);
      }
      // The window moved: frames differ.
      const lefts = await Promise.all(rec.frames.map((f) => greenLeft(f.path)));
      assert.ok(new Set(lefts).size >= 3, `the window at ${lefts.join(', ')} px in the frames`);
      // As a clip: get_index over the recorded frames, their own times.
      const clip = await clipOfRecording(rec, 3);
      assert.deepEqual(clip.frames.map((f) => f.index), frameIndices({ bound: null, fps: rec.frames.length / rec.duration, maxFrame: rec.frames.length - 1, numSegments: 3 }));
      assert.deepEqual(clip.frames.map((f) => f.seconds), clip.frames.map((f) => rec.frames[f.index]!.seconds));
    } finally {
      mover.stop();
    }
  });

  it('a region of the screen, stopped early: the frames so far, of the region only', async () => {
    const abort = new AbortController();
    const rec = await recordScreen({
      fps: 5,
      seconds: 30,
      rect: { x: 100, y: 50, width: 400, height: 300 },
      outDir: join(dir, 'b'),
      signal: abort.signal,
      onFrame: (n) => n === 3 && abort.abort(),
    });
    assert.ok(rec.frames.length >= 3 && rec.frames.length <= 4, `${rec.frames.length} frames`);
    assert.ok(rec.duration < 10, `stopped at ${rec.duration} s`);
    assert.deepEqual([rec.width, rec.height], [400, 300]);
    const meta = await sharp(rec.frames[0]!.path).metadata();
    assert.deepEqual([meta.width, meta.height], [400, 300]);
  });

  it('refuses a rate or a length it does not offer', async () => {
    await assert.rejects(recordScreen({ fps: 30, seconds: 3, outDir: join(dir, 'c') }), /0\.1 to 10 frames a second/);
    await assert.rejects(recordScreen({ fps: 2, seconds: 3600, outDir: join(dir, 'c') }), /up to 600 s/);
  });
});
