// "All screens" layout math and the `screen` argument, for monitor arrangements no X server here
// can produce: screens of different scale (macOS Retina beside a 1× display, Windows per-monitor
// DPI), a monitor left of or above the primary (negative positions), fractional scaling.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CaptureError } from '../../src/capture/errors';
import { ALL_SCREENS, GAP_RGBA, parseScreenTarget, type PlacedScreen, screenChoices, stitchLayout, stitchScreens } from '../../src/capture/monitors';
import type { MonitorInfo } from '../../src/capture/screen';
import { decodePng, pixelAt, type Rgba, solidImage } from '../fixtures/png';

const screen = (x: number, y: number, width: number, height: number, scaleFactor: number, imageWidth: number, imageHeight: number): PlacedScreen => ({
  x,
  y,
  width,
  height,
  scaleFactor,
  imageWidth,
  imageHeight,
});
const places = (l: ReturnType<typeof stitchLayout>) => l.placements.map((p) => [p.left, p.top, p.width, p.height, p.resized]);

describe('stitchLayout', () => {
  it('places same-scale monitors at their positions in the union rectangle', () => {
    const l = stitchLayout([screen(0, 0, 1280, 720, 1, 1280, 720), screen(1280, 0, 640, 480, 1, 640, 480)]);
    assert.deepEqual([l.width, l.height, l.scale, l.scaleFactor], [1920, 720, 1, 1]);
    assert.deepEqual(places(l), [
      [0, 0, 1280, 720, false],
      [1280, 0, 640, 480, false],
    ]);
  });

  it('shifts negative positions (a monitor left of and above the primary) to the origin', () => {
    const l = stitchLayout([screen(0, 0, 1920, 1080, 1, 1920, 1080), screen(-1280, -200, 1280, 1024, 1, 1280, 1024)]);
    assert.deepEqual([l.width, l.height], [3200, 1280]);
    assert.deepEqual(places(l), [
      [1280, 200, 1920, 1080, false],
      [0, 0, 1280, 1024, false],
    ]);
  });

  it('macOS: a 2× Retina display beside a 1× one keeps the Retina pixels and enlarges the other', () => {
    // Positions and sizes in points; images in device pixels.
    const l = stitchLayout([screen(0, 0, 1440, 900, 2, 2880, 1800), screen(1440, 0, 1920, 1080, 1, 1920, 1080)]);
    assert.deepEqual([l.width, l.height, l.scale, l.scaleFactor], [6720, 2160, 2, 2]);
    assert.deepEqual(places(l), [
      [0, 0, 2880, 1800, false],
      [2880, 0, 3840, 2160, true],
    ]);
  });

  it('Windows: positions already in device pixels, so nothing is resized; the densest scale is recorded', () => {
    const l = stitchLayout([screen(0, 0, 2560, 1440, 1.5, 2560, 1440), screen(2560, 0, 1920, 1080, 1, 1920, 1080)]);
    assert.deepEqual([l.width, l.height, l.scale, l.scaleFactor], [4480, 1440, 1, 1.5]);
    assert.ok(l.placements.every((p) => !p.resized));
  });

  it('fractional scaling: rounding in logical sizes does not resize an image by a pixel', () => {
    // 1366×768 at 1.25 is reported as 1092×614 (truncated); the second monitor starts at 1092.
    const l = stitchLayout([screen(0, 0, 1092, 614, 1.25, 1366, 768), screen(1092, 0, 1092, 614, 1.25, 1366, 768)]);
    assert.ok(l.placements.every((p) => !p.resized), JSON.stringify(l.placements));
    assert.equal(l.placements[1]!.left, Math.round(1092 * (1366 / 1092)));
    assert.equal(l.height, 768);
  });

  it('refuses an empty monitor list', () => {
    assert.throws(() => stitchLayout([]), (err: unknown) => err instanceof CaptureError && /No screen/.test(err.message));
  });
});

describe('the screen argument and the quick pick', () => {
  it('reads a monitor id, "all", or nothing; refuses anything else with what to pass', () => {
    assert.equal(parseScreenTarget(undefined), undefined);
    assert.equal(parseScreenTarget(null), undefined);
    assert.equal(parseScreenTarget(ALL_SCREENS), ALL_SCREENS);
    assert.equal(parseScreenTarget(1317), 1317);
    assert.equal(parseScreenTarget('59'), 59);
    for (const bad of [-1, 1.5, 'left', {}, true]) {
      assert.throws(() => parseScreenTarget(bad), (err: unknown) => err instanceof CaptureError && /screen id .* or "all"/.test(err.message), JSON.stringify(bad));
    }
  });

  it('lists monitors left to right, then "All screens" with the union size, only when there are several', () => {
    const m = (id: number, x: number, y: number, width: number, height: number, primary = false): MonitorInfo => ({ id, name: `M${id}`, x, y, width, height, scaleFactor: 1, primary });
    const choices = screenChoices([m(1, 0, 0, 1920, 1080, true), m(2, -1280, 100, 1280, 1024)], { all: true });
    assert.deepEqual(
      choices.map((c) => [c.label, c.description, c.target]),
      [
        ['M2', '1280×1024 at (-1280, 100)', 2],
        ['M1', '1920×1080 at (0, 0) · primary', 1],
        ['All screens', '3200×1124 · 2 screens in one image', ALL_SCREENS],
      ],
    );
    assert.equal(choices[0]!.detail, 'scale 1 · id 2', 'the id, for the "screen" argument');
    assert.deepEqual(
      screenChoices([m(1, 0, 0, 800, 600)], { all: true }).map((c) => c.target),
      [1],
    );
  });
});

describe('stitchScreens (sharp composition)', () => {
  // Screen images as node-screenshots hands them over (width, height, RGBA from toRaw): a stand-in
  // for the native image, since no X server here has monitors of different scale.
  const image = (width: number, height: number, colour: Rgba, mark?: Rgba) => {
    const rgba = solidImage(width, height, colour);
    if (mark) rgba.set(mark, 0);
    return { width, height, toRaw: () => Promise.resolve(Buffer.from(rgba)) };
  };
  const monitor = (id: number, x: number, width: number, height: number, scaleFactor: number): MonitorInfo => ({ id, name: `M${id}`, x, y: 0, width, height, scaleFactor, primary: id === 1 });
  const RED: Rgba = [200, 0, 0, 255];
  const BLUE: Rgba = [0, 0, 200, 255];
  const GREEN: Rgba = [0, 200, 0, 255];

  it('a 2× monitor beside a 1× one: 2× pixels kept, the 1× one enlarged crisply, the gap filled', async () => {
    const all = await stitchScreens([
      { image: image(200, 100, RED), monitor: monitor(1, 0, 100, 50, 2) },
      { image: image(60, 40, BLUE, GREEN), monitor: monitor(2, 100, 60, 40, 1) },
    ]);
    assert.deepEqual([all.width, all.height, all.scaleFactor], [320, 100, 2]);
    assert.match(all.name, /^screens-.*\.png$/);
    const png = decodePng(all.bytes);
    assert.deepEqual([png.width, png.height], [320, 100]);
    assert.deepEqual(pixelAt(png, 199, 99), RED, 'the 2× monitor, 1:1');
    // The 1× monitor's top-left pixel becomes a 2×2 block (nearest neighbour), the rest stays blue.
    for (const [px, py] of [[200, 0], [201, 0], [200, 1], [201, 1]] as const) assert.deepEqual(pixelAt(png, px, py), GREEN, `(${px}, ${py})`);
    assert.deepEqual(pixelAt(png, 202, 0), BLUE);
    assert.deepEqual(pixelAt(png, 319, 79), BLUE, 'the 1× monitor ends at 2 × its size');
    assert.deepEqual(pixelAt(png, 200, 80), [GAP_RGBA.r, GAP_RGBA.g, GAP_RGBA.b, 255], 'below it: the gap');
    assert.deepEqual(pixelAt(png, 319, 99), [GAP_RGBA.r, GAP_RGBA.g, GAP_RGBA.b, 255]);
  });

  it('refuses a desktop over the pixel limit before composing it', async () => {
    const huge = { width: 8000, height: 4000, toRaw: () => Promise.reject(new Error('must not be read')) };
    await assert.rejects(
      stitchScreens([0, 1].map((i) => ({ image: huge, monitor: monitor(i, i * 8000, 8000, 4000, 1) }))),
      (err: unknown) => err instanceof CaptureError && err.problem === 'too-large' && /16000×4000/.test(err.message),
    );
  });
});
