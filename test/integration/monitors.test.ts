// Capture Screen with several monitors, on a real two-monitor X server (Xvnc with two RandR
// outputs, test/fixtures/monitors.ts): a 1280×720 monitor and a 640×480 one to its right, each
// filled with a known colour by an X program, the screen's background magenta so that the gap
// below the small monitor (part of the X screen, but on no monitor) is recognisable.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ALL_SCREENS, captureAllScreens, GAP_RGBA, screenChoices } from '../../src/capture/monitors';
import { captureScreen, listMonitors, type MonitorInfo } from '../../src/capture/screen';
import { decodePng, pixelAt, type Rgba } from '../fixtures/png';
import { startMultiMonitorDisplay } from '../fixtures/monitors';
import type { XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';

const LEFT = { x: 0, y: 0, width: 1280, height: 720 };
const RIGHT = { x: 1280, y: 0, width: 640, height: 480 };
const UNION = { width: 1920, height: 720 };
const RED: Rgba = [192, 0, 0, 255];
const BLUE: Rgba = [0, 0, 192, 255];
const GREEN: Rgba = [0, 192, 0, 255];
const YELLOW: Rgba = [192, 192, 0, 255];
const MAGENTA: Rgba = [255, 0, 255, 255];
const GAP: Rgba = [GAP_RGBA.r, GAP_RGBA.g, GAP_RGBA.b, 255];
/** Small windows on each monitor, to check that pixels land at the right place, not just the right colour. */
const LEFT_MARK = { x: 20, y: 600, width: 40, height: 30 };
const RIGHT_MARK = { x: RIGHT.x + 10, y: 10, width: 40, height: 30 };

const hex = (c: Rgba) => `#${c.slice(0, 3).map((v) => v.toString(16).padStart(2, '0')).join('')}`;

// X lists the primary monitor first; these tests compare in desk order.
const byX = (ms: MonitorInfo[]) => [...ms].sort((a, b) => a.x - b.x);
const byLeft = <T extends { left: number }>(ps: T[]) => [...ps].sort((a, b) => a.left - b.left);

type Png = ReturnType<typeof decodePng>;
function countColour(png: Png, colour: Rgba): number {
  let n = 0;
  for (let i = 0; i < png.rgba.length; i += 4) {
    if (png.rgba[i] === colour[0] && png.rgba[i + 1] === colour[1] && png.rgba[i + 2] === colour[2]) n++;
  }
  return n;
}

/** The pixels of `rect` in `png`, as bytes, for comparing one image's area with another image. */
function area(png: Png, rect: { x: number; y: number; width: number; height: number }): Buffer {
  const rows: Buffer[] = [];
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    rows.push(Buffer.from(png.rgba.subarray((y * png.width + rect.x) * 4, (y * png.width + rect.x + rect.width) * 4)));
  }
  return Buffer.concat(rows);
}

describe('Capture Screen with two monitors (Xvnc)', () => {
  let x: XDisplay;
  let left: MonitorInfo;
  let right: MonitorInfo;
  const savedDisplay = process.env.DISPLAY;
  const savedWayland = process.env.WAYLAND_DISPLAY;

  /** A borderless solid rectangle of `colour` (xlogo with its logo in the background colour), mapped and painted. */
  async function paint(rect: { x: number; y: number; width: number; height: number }, colour: Rgba, monitor: () => MonitorInfo, origin: { x: number; y: number }) {
    x.run('xlogo', ['-bw', '0', '-bg', hex(colour), '-fg', hex(colour), '-geometry', `${rect.width}x${rect.height}+${rect.x}+${rect.y}`]);
    await waitFor(`${hex(colour)} painted`, async () => {
      const png = decodePng((await captureScreen(monitor().id)).bytes);
      const at = [rect.x - origin.x + rect.width - 2, rect.y - origin.y + rect.height - 2] as const;
      return pixelAt(png, at[0], at[1]).join() === colour.join() ? true : undefined;
    });
  }

  before(async () => {
    x = await startMultiMonitorDisplay([LEFT, RIGHT]);
    process.env.DISPLAY = x.display;
    delete process.env.WAYLAND_DISPLAY;
    await x.exec('xrandr', ['--output', 'VNC-1', '--primary']);
    await x.exec('xsetroot', ['-solid', hex(MAGENTA)]);
    const monitors = await listMonitors();
    left = monitors.find((m) => m.x === LEFT.x)!;
    right = monitors.find((m) => m.x === RIGHT.x)!;
    assert.ok(left && right, `both monitors listed: ${JSON.stringify(monitors)}`);
    // No window manager: windows stack in the order they are mapped, markers on top.
    await paint(LEFT, RED, () => left, LEFT);
    await paint(RIGHT, BLUE, () => right, RIGHT);
    await paint(LEFT_MARK, YELLOW, () => left, LEFT);
    await paint(RIGHT_MARK, GREEN, () => right, RIGHT);
  });

  after(async () => {
    await x?.stop();
    if (savedDisplay === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = savedDisplay;
    if (savedWayland !== undefined) process.env.WAYLAND_DISPLAY = savedWayland;
  });

  it('lists each monitor with its name, position, size, scale and which is primary', async () => {
    const monitors = byX(await listMonitors());
    assert.deepEqual(
      monitors.map((m) => [m.name, m.x, m.y, m.width, m.height, m.scaleFactor, m.primary]),
      [
        ['VNC-0', 0, 0, 1280, 720, 1, false],
        ['VNC-1', 1280, 0, 640, 480, 1, true],
      ],
    );
    assert.notEqual(left.id, right.id);
  });

  it('offers each monitor and "All screens" in the quick pick (not for a region)', async () => {
    const choices = screenChoices(await listMonitors(), { all: true });
    assert.deepEqual(
      choices.map((c) => [c.label, c.description, c.target]),
      [
        ['VNC-0', '1280×720 at (0, 0)', left.id],
        ['VNC-1', '640×480 at (1280, 0) · primary', right.id],
        ['All screens', '1920×720 · 2 screens in one image', ALL_SCREENS],
      ],
    );
    assert.deepEqual(
      screenChoices(await listMonitors(), { all: false }).map((c) => c.target),
      [left.id, right.id],
    );
  });

  it('captures exactly the picked monitor, in its own pixels', async () => {
    const l = await captureScreen(left.id);
    assert.deepEqual([l.width, l.height, l.scaleFactor], [LEFT.width, LEFT.height, 1]);
    const lp = decodePng(l.bytes);
    assert.deepEqual(pixelAt(lp, 1, 1), RED);
    assert.deepEqual(pixelAt(lp, LEFT.width - 1, LEFT.height - 1), RED, 'its far corner');
    assert.deepEqual(pixelAt(lp, LEFT_MARK.x + 1, LEFT_MARK.y + 1), YELLOW, 'its marker, in place');
    assert.deepEqual(pixelAt(lp, LEFT_MARK.x - 1, LEFT_MARK.y + 1), RED, 'left of its marker');
    assert.equal(countColour(lp, YELLOW), LEFT_MARK.width * LEFT_MARK.height, 'the whole marker, once');
    assert.equal(countColour(lp, BLUE) + countColour(lp, MAGENTA), 0, 'nothing from the other monitor or the gap');

    const r = await captureScreen(right.id);
    assert.deepEqual([r.width, r.height, r.scaleFactor], [RIGHT.width, RIGHT.height, 1]);
    const rp = decodePng(r.bytes);
    assert.deepEqual(pixelAt(rp, 0, 0), BLUE);
    assert.deepEqual(pixelAt(rp, RIGHT.width - 1, RIGHT.height - 1), BLUE, 'its far corner');
    assert.deepEqual(pixelAt(rp, RIGHT_MARK.x - RIGHT.x, RIGHT_MARK.y), GREEN, 'its marker, at monitor coordinates');
    assert.deepEqual(pixelAt(rp, RIGHT_MARK.x - RIGHT.x - 1, RIGHT_MARK.y), BLUE, 'left of its marker');
    assert.equal(countColour(rp, GREEN), RIGHT_MARK.width * RIGHT_MARK.height);
    assert.equal(countColour(rp, RED) + countColour(rp, MAGENTA), 0, 'nothing from the other monitor or the gap');
  });

  it('captures the primary monitor when none is named', async () => {
    const capture = await captureScreen();
    assert.deepEqual([capture.width, capture.height], [RIGHT.width, RIGHT.height]);
    assert.deepEqual(pixelAt(decodePng(capture.bytes), 0, 0), BLUE);
  });

  it('"All screens" stitches every monitor at its position, the gap filled', async () => {
    const all = await captureAllScreens();
    assert.deepEqual([all.width, all.height, all.scaleFactor], [UNION.width, UNION.height, 1]);
    assert.match(all.name, /^screens-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.png$/);
    assert.deepEqual(
      byLeft(all.layout.placements).map((p) => [p.left, p.top, p.width, p.height, p.resized]),
      [
        [0, 0, 1280, 720, false],
        [1280, 0, 640, 480, false],
      ],
    );
    const png = decodePng(all.bytes);
    assert.deepEqual([png.width, png.height], [UNION.width, UNION.height]);
    assert.deepEqual(pixelAt(png, 0, 0), RED, 'left monitor, top left');
    assert.deepEqual(pixelAt(png, LEFT.width - 1, LEFT.height - 1), RED, 'left monitor, bottom right');
    assert.deepEqual(pixelAt(png, LEFT_MARK.x + 1, LEFT_MARK.y + 1), YELLOW, 'left marker');
    assert.deepEqual(pixelAt(png, RIGHT.x, 0), BLUE, 'right monitor, top left');
    assert.deepEqual(pixelAt(png, RIGHT.x + RIGHT.width - 1, RIGHT.height - 1), BLUE, 'right monitor, bottom right');
    assert.deepEqual(pixelAt(png, RIGHT_MARK.x, RIGHT_MARK.y), GREEN, 'right marker, at desktop coordinates');
    assert.deepEqual(pixelAt(png, RIGHT.x, RIGHT.height), GAP, 'below the right monitor: the gap colour');
    assert.deepEqual(pixelAt(png, UNION.width - 1, UNION.height - 1), GAP, 'the gap, far corner');
    assert.equal(countColour(png, MAGENTA), 0, 'the X screen outside every monitor is not copied');
    assert.equal(countColour(png, GAP), RIGHT.width * (UNION.height - RIGHT.height), 'exactly the gap has the gap colour');
    // Each monitor's area is that monitor's own capture, pixel for pixel.
    assert.ok(area(png, LEFT).equals(area(decodePng((await captureScreen(left.id)).bytes), { ...LEFT, x: 0 })), 'left area = left capture');
    assert.ok(area(png, RIGHT).equals(area(decodePng((await captureScreen(right.id)).bytes), { ...RIGHT, x: 0 })), 'right area = right capture');
  });

  it('with the desktop scaled 2× (Xft.dpi 192): logical layout, device pixels kept, scale 2 recorded', async () => {
    await x.exec('xrdb', ['-merge'], Buffer.from('Xft.dpi: 192\n'));
    try {
      const monitors = byX(await listMonitors());
      // node-screenshots reports X monitors in logical units (device ÷ Xft.dpi/96).
      assert.deepEqual(
        monitors.map((m) => [m.x, m.y, m.width, m.height, m.scaleFactor]),
        [
          [0, 0, 640, 360, 2],
          [640, 0, 320, 240, 2],
        ],
      );
      const one = await captureScreen(right.id);
      assert.deepEqual([one.width, one.height, one.scaleFactor], [RIGHT.width, RIGHT.height, 2], 'one monitor: device pixels, scale 2');
      const all = await captureAllScreens();
      assert.deepEqual([all.width, all.height, all.scaleFactor, all.layout.scale], [UNION.width, UNION.height, 2, 2]);
      assert.ok(all.layout.placements.every((p) => !p.resized), 'no monitor resized');
      const png = decodePng(all.bytes);
      assert.deepEqual(pixelAt(png, RIGHT_MARK.x, RIGHT_MARK.y), GREEN, 'right marker at device coordinates');
      assert.deepEqual(pixelAt(png, RIGHT.x, RIGHT.height), GAP);
      assert.deepEqual(screenChoices(monitors, { all: true }).at(-1)!.description, '960×360 · 2 screens in one image', 'the pick shows logical sizes');
    } finally {
      await x.exec('xrdb', ['-remove']);
    }
  });
});
