// Screen, window, region and clipboard capture against a real X server (Xvfb), a real window
// manager (openbox) and a real X program showing known pixels (xlogo on green).
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readClipboardImage } from '../../src/capture/clipboard';
import { CaptureError, type CaptureProblem } from '../../src/capture/errors';
import { captureScreen, encodeShot, grabForChat, grabScreen, listMonitors } from '../../src/capture/screen';
import { captureWindow, listWindows, type WindowInfo } from '../../src/capture/window';
import { ImageError, loadSharp } from '../../src/images';
import { REPO_ROOT } from '../e2e/harness';
import { decodePng, encodePng, gradientImage, pixelAt } from '../fixtures/png';
import { startXDisplay, type XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';

const SCREEN = { width: 1280, height: 800 };
const GREEN: [number, number, number, number] = [0, 192, 0, 255];
const LOGO = { width: 240, height: 160, x: 300, y: 200 };

const rejectsWith = (problem: CaptureProblem) => (err: unknown) => {
  assert.ok(err instanceof CaptureError, `a CaptureError, got ${String(err)}`);
  assert.equal(err.problem, problem, err.message);
  return true;
};

/** Runs `body` with some environment variables changed, then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  set(vars);
  try {
    return await body();
  } finally {
    set(saved);
  }
}

/** Runs `captureScreen()` (or another call of src/capture/screen) in a fresh Node process with `env`. */
function inProcess(call: string, env: NodeJS.ProcessEnv): { problem?: string; message?: string; result?: unknown } {
  const code = `
    const { createHash } = require('node:crypto');
    const screen = require(${JSON.stringify(join(REPO_ROOT, 'src', 'capture', 'screen.ts'))});
    screen.${call}.then(
      (c) => console.log(JSON.stringify({ result: { width: c.width, height: c.height, sha: createHash('sha256').update(c.bytes).digest('hex') } })),
      (e) => console.log(JSON.stringify({ problem: e.problem, message: e.message })),
    );`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { env, encoding: 'utf8', cwd: REPO_ROOT, timeout: 30_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { problem?: string; message?: string; result?: unknown };
  } catch {
    throw new Error(`child failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  }
}

describe('capture under Xvfb', () => {
  let x: XDisplay;
  let logo: WindowInfo;
  const savedDisplay = process.env.DISPLAY;
  const savedWayland = process.env.WAYLAND_DISPLAY;

  before(async () => {
    x = await startXDisplay(SCREEN);
    process.env.DISPLAY = x.display;
    delete process.env.WAYLAND_DISPLAY;
    x.run('xlogo', ['-bg', '#00c000', '-fg', '#000080', '-geometry', `${LOGO.width}x${LOGO.height}+${LOGO.x}+${LOGO.y}`]);
    await waitFor('xlogo to map its window', async () => (/"XLogo"/.test((await x.exec('xwininfo', ['-root', '-tree'])).toString()) ? true : undefined));
    // The window manager after the window: it adopts it (window listing needs one).
    await x.startWindowManager();
    logo = await waitFor('the xlogo window', async () => (await listWindows()).find((w) => w.appName === 'XLogo'));
    // Mapped is not painted: wait until its background shows on screen.
    await waitFor('xlogo painted', async () => {
      const png = decodePng((await captureScreen()).bytes);
      return pixelAt(png, logo.x + 3, logo.y + 3).join() === GREEN.join() ? true : undefined;
    });
  });

  after(async () => {
    await x?.stop();
    if (savedDisplay === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = savedDisplay;
    if (savedWayland !== undefined) process.env.WAYLAND_DISPLAY = savedWayland;
  });

  it('lists the screen with its size and scale factor', async () => {
    const monitors = await listMonitors();
    assert.equal(monitors.length, 1);
    assert.deepEqual([monitors[0]!.width, monitors[0]!.height, monitors[0]!.scaleFactor], [SCREEN.width, SCREEN.height, 1]);
  });

  it('captures the screen in device pixels', async () => {
    const capture = await captureScreen();
    assert.deepEqual([capture.width, capture.height, capture.scaleFactor], [SCREEN.width, SCREEN.height, 1]);
    assert.match(capture.name, /^screen-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.png$/);
    const png = decodePng(capture.bytes);
    assert.deepEqual([png.width, png.height], [SCREEN.width, SCREEN.height]);
    // The pixels kept for the model-sized copy are exactly the PNG's.
    assert.deepEqual([capture.pixels?.width, capture.pixels?.height, capture.pixels?.channels], [SCREEN.width, SCREEN.height, 4]);
    assert.ok(Buffer.from(png.rgba).equals(capture.pixels!.data), 'kept pixels equal the decoded PNG');
    assert.deepEqual(pixelAt(png, logo.x + 3, logo.y + 3), GREEN, 'the window background');
    assert.deepEqual(pixelAt(png, logo.x + logo.width - 4, logo.y + logo.height - 4), GREEN, 'its far corner');
    assert.notDeepEqual(pixelAt(png, logo.x - 20, logo.y + 10), GREEN, 'left of the window is not green');
  });

  it('for the chat: a JPEG preview first, the lossless PNG of the same pixels after it', async () => {
    const grab = await grabForChat(await grabScreen(), 'screen');
    assert.deepEqual([grab.width, grab.height, grab.scaleFactor], [SCREEN.width, SCREEN.height, 1]);
    const sharp = await loadSharp();
    const preview = await sharp(Buffer.from(grab.display)).metadata();
    // 1280 wide: at most PREVIEW_MAX_SIDE, so it is not shrunk.
    assert.deepEqual([preview.format, preview.width, preview.height], ['jpeg', SCREEN.width, SCREEN.height]);
    const pending = grab.png();
    assert.equal(grab.png(), pending, 'encoded once');
    const png = decodePng(await pending);
    assert.ok(Buffer.from(png.rgba).equals(grab.pixels.data), 'the PNG holds exactly the grabbed pixels');
    assert.deepEqual(pixelAt(png, logo.x + 3, logo.y + 3), GREEN);
    // A region of it, in device pixels.
    const crop = await grabForChat(await grabScreen(), 'region', { x: logo.x, y: logo.y, width: 40, height: 30 });
    assert.deepEqual([crop.width, crop.height], [40, 30]);
    assert.deepEqual(pixelAt(decodePng(await crop.png()), 20, 15), GREEN);
  });

  it('lists windows with their app name and size, and captures one', async () => {
    // (xlogo sets WM_NAME only, not _NET_WM_NAME, so its title reads as empty.)
    assert.deepEqual([logo.width, logo.height], [LOGO.width, LOGO.height]);
    const capture = await captureWindow(logo.id);
    assert.deepEqual([capture.width, capture.height], [LOGO.width, LOGO.height]);
    const png = decodePng(capture.bytes);
    assert.ok(Buffer.from(png.rgba).equals(capture.pixels!.data), 'kept pixels equal the decoded PNG');
    for (const [px, py] of [[2, 2], [LOGO.width - 3, 2], [2, LOGO.height - 3], [LOGO.width - 3, LOGO.height - 3]] as const) {
      assert.deepEqual(pixelAt(png, px, py), GREEN, `window pixel (${px}, ${py})`);
    }
    // xlogo draws its logo in the foreground colour.
    let logoPixels = 0;
    for (let i = 0; i < png.rgba.length; i += 4) if (png.rgba[i + 2]! > 100 && png.rgba[i + 1]! < 100) logoPixels++;
    assert.ok(logoPixels > 500, `the logo is in the capture (${logoPixels} navy pixels)`);
  });

  it('crops a region given in device pixels', async () => {
    const shot = await grabScreen();
    const rect = { x: logo.x - 10, y: logo.y - 20, width: 50, height: 40 };
    const capture = await encodeShot(shot, 'region', rect);
    assert.deepEqual([capture.width, capture.height], [50, 40]);
    const png = decodePng(capture.bytes);
    assert.deepEqual(pixelAt(png, 15, 25), GREEN, 'inside the window');
    assert.notDeepEqual(pixelAt(png, 5, 25), GREEN, 'left of the window');
    assert.notDeepEqual(pixelAt(png, 15, 15), GREEN, 'above the window');
    // A rectangle running off the screen is clamped to it.
    const edge = await encodeShot(shot, 'region', { x: SCREEN.width - 30, y: SCREEN.height - 10, width: 100, height: 100 });
    assert.deepEqual([edge.width, edge.height], [30, 10]);
  });

  it('explains a missing display', async () => {
    await withEnv({ DISPLAY: undefined, WAYLAND_DISPLAY: undefined }, async () => {
      await assert.rejects(captureScreen(), (err: unknown) => rejectsWith('no-display')(err) && /DISPLAY is not set/.test((err as Error).message));
      await assert.rejects(listWindows(), rejectsWith('no-display'));
      // Paste Image reads the clipboard, not the screen: its message says so and offers what works.
      await assert.rejects(readClipboardImage(), (err: unknown) => rejectsWith('no-display')(err) && /no clipboard to paste from/.test((err as Error).message) && /Attach images…/.test((err as Error).message) && !/display to capture/.test((err as Error).message));
    });
  });

  it('on Wayland without X, uses a desktop screenshot tool or explains', async () => {
    // In a fresh process: the native library keeps its X connection once made.
    const bin = mkdtempSync(join(tmpdir(), 'lens-fake-grim-'));
    const png = encodePng(64, 48, gradientImage(64, 48));
    writeFileSync(join(bin, 'screen.png'), png);
    const env: NodeJS.ProcessEnv = { ...process.env, WAYLAND_DISPLAY: 'wayland-lens-test', PATH: bin };
    delete env.DISPLAY;
    const none = inProcess(`captureScreen()`, env);
    assert.equal(none.problem, 'wayland', JSON.stringify(none));
    assert.match(none.message!, /Wayland session without X.*grim/);
    // A stand-in for grim (no compositor here): it writes the screenshot to the file it is given.
    writeFileSync(join(bin, 'grim'), `#!/bin/sh\nexec /bin/cp ${join(bin, 'screen.png')} "$1"\n`);
    chmodSync(join(bin, 'grim'), 0o755);
    const grim = inProcess(`captureScreen()`, env);
    assert.deepEqual(grim.result, { width: 64, height: 48, sha: createHash('sha256').update(png).digest('hex') });
  });

  describe('clipboard (xclip)', () => {
    let owner: ChildProcess | undefined;
    /** Puts `bytes` on the CLIPBOARD as `type`, served by xclip in the foreground (killed after). */
    async function setClipboard(type: string, bytes: Buffer): Promise<void> {
      owner?.kill();
      owner = spawn('xclip', ['-selection', 'clipboard', '-quiet', '-t', type, '-i'], { env: x.env, stdio: ['pipe', 'ignore', 'ignore'] });
      owner.stdin!.end(bytes);
      await waitFor(`the clipboard to offer ${type}`, async () => {
        const targets = (await x.exec('xclip', ['-selection', 'clipboard', '-t', 'TARGETS', '-o'])).toString();
        return targets.split('\n').includes(type) ? true : undefined;
      });
    }
    after(() => owner?.kill());

    it('says so when nothing is on the clipboard', async () => {
      await assert.rejects(readClipboardImage(), rejectsWith('empty-clipboard'));
    });

    it('reads a PNG image', async () => {
      const png = encodePng(120, 90, gradientImage(120, 90));
      await setClipboard('image/png', png);
      const capture = await readClipboardImage();
      assert.deepEqual([capture.width, capture.height], [120, 90]);
      assert.match(capture.name, /^clipboard-.*\.png$/);
      assert.ok(Buffer.from(capture.bytes).equals(png));
    });

    it('says so when the clipboard holds only text', async () => {
      await setClipboard('UTF8_STRING', Buffer.from('just words'));
      await assert.rejects(readClipboardImage(), (err: unknown) => rejectsWith('empty-clipboard')(err) && /no image/.test((err as Error).message));
    });

    it('refuses corrupt, zero-size and oversized images', async () => {
      await setClipboard('image/png', Buffer.from('not a png at all'));
      await assert.rejects(readClipboardImage(), (err: unknown) => err instanceof ImageError && /not an image/.test(err.message));
      await setClipboard('image/png', Buffer.alloc(0));
      await assert.rejects(readClipboardImage(), (err: unknown) => err instanceof ImageError && /empty \(0 bytes\)/.test(err.message));
      const zero = encodePng(1, 1, new Uint8Array(4));
      zero.writeUInt32BE(0, 16); // IHDR width 0
      await setClipboard('image/png', zero);
      await assert.rejects(readClipboardImage(), (err: unknown) => err instanceof ImageError && /no valid size/.test(err.message));
      const huge = encodePng(1, 1, new Uint8Array(4));
      huge.writeUInt32BE(10_000, 16);
      huge.writeUInt32BE(6_000, 20); // 60 megapixels, claimed by the header only: refused before any decoding
      await setClipboard('image/png', huge);
      await assert.rejects(readClipboardImage(), (err: unknown) => rejectsWith('too-large')(err) && /10000×6000 \(60 megapixels\)/.test((err as Error).message));
    });

    it('names the tool to install when xclip is missing', async () => {
      await withEnv({ PATH: mkdtempSync(join(tmpdir(), 'lens-empty-path-')) }, async () => {
        await assert.rejects(readClipboardImage(), (err: unknown) => rejectsWith('no-tool')(err) && /install it/.test((err as Error).message));
      });
    });
  });
});
