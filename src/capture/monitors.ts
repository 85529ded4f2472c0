// Capture Screen with several monitors: which one to take (or all), and "All screens" — every
// monitor's pixels stitched at its place in the virtual desktop, gaps between them filled.
import { loadSharp } from '../images';
import { type Capture, captureName, MAX_CAPTURE_PIXELS } from './capture';
import { CaptureError } from './errors';
import { native, type NativeImage } from './native';
import { grabAllScreens, type MonitorInfo } from './screen';

/** The Capture Screen argument (and quick pick choice) that takes every monitor in one image. */
export const ALL_SCREENS = 'all';
export type ScreenTarget = number | typeof ALL_SCREENS;

/** What gaps between monitors (the parts of the union rectangle no monitor shows) are filled with: opaque black. */
export const GAP_RGBA = { r: 0, g: 0, b: 0, alpha: 1 } as const;

export interface ScreenChoice {
  label: string;
  description: string;
  detail: string;
  target: ScreenTarget;
}

/**
 * The quick pick items for several monitors: each one (name, size, position, primary) in desk
 * order (left to right, then top to bottom; X lists the primary first), then "All screens".
 */
export function screenChoices(monitors: MonitorInfo[], opts: { all: boolean }): ScreenChoice[] {
  const inDeskOrder = [...monitors].sort((a, b) => a.x - b.x || a.y - b.y);
  const choices: ScreenChoice[] = inDeskOrder.map((m) => ({
    label: m.name || `Screen ${m.id}`,
    description: `${m.width}×${m.height} at (${m.x}, ${m.y})${m.primary ? ' · primary' : ''}`,
    detail: `scale ${m.scaleFactor} · id ${m.id}`,
    target: m.id,
  }));
  if (opts.all && monitors.length > 1) {
    const b = unionBounds(monitors);
    choices.push({
      label: 'All screens',
      description: `${b.width}×${b.height} · ${monitors.length} screens in one image`,
      detail: 'Every screen at its position; gaps between them are black',
      target: ALL_SCREENS,
    });
  }
  return choices;
}

/** Reads the `screen` command argument: a monitor id, "all", or nothing (ask / the only screen). */
export function parseScreenTarget(value: unknown): ScreenTarget | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === ALL_SCREENS) return ALL_SCREENS;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  throw new CaptureError(`"screen" must be a screen id (a whole number, as Capture Screen's list shows) or "${ALL_SCREENS}", not ${JSON.stringify(value)}.`, 'failed');
}

function unionBounds(rects: { x: number; y: number; width: number; height: number }[]) {
  const left = Math.min(...rects.map((r) => r.x));
  const top = Math.min(...rects.map((r) => r.y));
  return {
    left,
    top,
    width: Math.max(...rects.map((r) => r.x + r.width)) - left,
    height: Math.max(...rects.map((r) => r.y + r.height)) - top,
  };
}

/** One monitor as the OS places it (layout units) and the size of the image it gave (device pixels). */
export interface PlacedScreen {
  x: number;
  y: number;
  width: number;
  height: number;
  scaleFactor: number;
  imageWidth: number;
  imageHeight: number;
}

export interface StitchLayout {
  /** Canvas size in device pixels. */
  width: number;
  height: number;
  /** Canvas device pixels per layout unit: the densest monitor's, whose pixels stay 1:1. */
  scale: number;
  /** The scale factor recorded for the image (the densest monitor's). */
  scaleFactor: number;
  /** Where each monitor's image goes, and the size it is drawn at (its own size unless enlarged). */
  placements: { left: number; top: number; width: number; height: number; resized: boolean }[];
}

/**
 * Lays monitors out on one canvas. Positions come in the OS's layout units (logical points on
 * macOS and on Linux with Xft.dpi scaling, device pixels on Windows); each image's size divided
 * by its reported width gives that monitor's device pixels per unit. The canvas uses the largest
 * such ratio, so the densest monitor keeps its pixels 1:1 and a less dense one (a 1× screen beside
 * a 2× one) is enlarged to match: nothing is thrown away, and one scale factor (the densest
 * monitor's) maps every image pixel back to layout coordinates.
 */
export function stitchLayout(screens: PlacedScreen[]): StitchLayout {
  if (screens.length === 0) throw new CaptureError('No screen was found to capture.', 'failed');
  const ratio = (s: PlacedScreen) => (s.width > 0 ? s.imageWidth / s.width : 1);
  const scale = Math.max(...screens.map(ratio));
  const bounds = unionBounds(screens);
  const placements = screens.map((s) => {
    const width = Math.round(s.width * scale);
    const height = Math.round(s.height * scale);
    // Rounding in the OS's logical sizes (1366 px / 1.25) must not resize an image by a pixel.
    const keep = Math.abs(width - s.imageWidth) <= Math.ceil(scale) && Math.abs(height - s.imageHeight) <= Math.ceil(scale);
    return {
      left: Math.round((s.x - bounds.left) * scale),
      top: Math.round((s.y - bounds.top) * scale),
      width: keep ? s.imageWidth : width,
      height: keep ? s.imageHeight : height,
      resized: !keep,
    };
  });
  const densest = screens.filter((s) => ratio(s) === scale);
  return {
    width: Math.max(...placements.map((p) => p.left + p.width)),
    height: Math.max(...placements.map((p) => p.top + p.height)),
    scale,
    scaleFactor: Math.max(...densest.map((s) => s.scaleFactor)),
    placements,
  };
}

export type AllScreensCapture = Capture & { layout: StitchLayout; monitors: MonitorInfo[] };

/** Every monitor in one PNG of the whole virtual desktop (union of their rectangles). */
export async function captureAllScreens(): Promise<AllScreensCapture> {
  return stitchScreens(await grabAllScreens());
}

/** Composes grabbed monitors (RGBA images) into one PNG laid out by stitchLayout. */
export async function stitchScreens(shots: { image: Pick<NativeImage, 'width' | 'height' | 'toRaw'>; monitor: MonitorInfo }[]): Promise<AllScreensCapture> {
  const layout = stitchLayout(shots.map((s) => ({ ...s.monitor, imageWidth: s.image.width, imageHeight: s.image.height })));
  const pixels = layout.width * layout.height;
  if (pixels > MAX_CAPTURE_PIXELS) {
    throw new CaptureError(
      `All screens together are ${layout.width}×${layout.height} (${(pixels / 1e6).toFixed(0)} megapixels), over the ${MAX_CAPTURE_PIXELS / 1e6} megapixel limit. Capture one screen instead.`,
      'too-large',
    );
  }
  const sharp = await loadSharp();
  const layers = await Promise.all(
    shots.map(async (shot, i) => {
      const place = layout.placements[i]!;
      const raw = { width: shot.image.width, height: shot.image.height, channels: 4 as const };
      let input = await native('read the capture', () => shot.image.toRaw());
      if (place.resized) {
        // Whole-number enlargements stay crisp (each pixel becomes a block); others are resampled.
        const kernel = Number.isInteger(place.width / raw.width) ? 'nearest' : 'lanczos3';
        input = await sharp(input, { raw }).resize(place.width, place.height, { fit: 'fill', kernel }).raw().toBuffer();
        return { input, raw: { ...raw, width: place.width, height: place.height }, left: place.left, top: place.top };
      }
      return { input, raw, left: place.left, top: place.top };
    }),
  );
  const bytes = await sharp({ create: { width: layout.width, height: layout.height, channels: 4, background: GAP_RGBA } })
    .composite(layers)
    .png()
    .toBuffer();
  return {
    bytes,
    name: captureName('screens'),
    width: layout.width,
    height: layout.height,
    scaleFactor: layout.scaleFactor,
    layout,
    monitors: shots.map((s) => s.monitor),
  };
}
