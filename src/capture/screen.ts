// Capture Screen: one monitor's pixels, in device pixels, with its scale factor.
import { type Capture, captureName } from './capture';
import type { Sharp } from 'sharp';
import { loadSharp, type RawPixels } from '../images';
import { displayKind } from './display';
import { CaptureError } from './errors';
import { captureWithDesktopTool } from './wayland';
import { native, type NativeImage, type NativeMonitor, nodeScreenshots, optional } from './native';
import { clampRect, type PixelRect } from '../protocol/rect';

export interface MonitorInfo {
  id: number;
  name: string;
  /** Position and size as the OS reports them (logical pixels on macOS, device pixels elsewhere). */
  x: number;
  y: number;
  width: number;
  height: number;
  scaleFactor: number;
  primary: boolean;
}

/** A screen grabbed but not yet encoded: the region picker shows it, then crops it. */
export interface ScreenShot {
  image: NativeImage;
  monitor: MonitorInfo;
}

function monitors() {
  displayKind();
  return nodeScreenshots().Monitor.all();
}

function describe(m: NativeMonitor): MonitorInfo {
  return {
    id: m.id(),
    name: optional(() => m.name(), `Screen ${m.id()}`),
    x: m.x(),
    y: m.y(),
    width: m.width(),
    height: m.height(),
    scaleFactor: optional(() => m.scaleFactor(), 1) || 1,
    primary: optional(() => m.isPrimary(), false),
  };
}

export async function listMonitors(): Promise<MonitorInfo[]> {
  return (await native('list the screens', monitors)).map(describe);
}

/** Grabs one monitor (the primary, or the first, when `monitorId` is not given). */
export async function grabScreen(monitorId?: number): Promise<ScreenShot> {
  const all = await native('list the screens', monitors);
  const infos = all.map(describe);
  const index = monitorId === undefined ? Math.max(0, infos.findIndex((m) => m.primary)) : infos.findIndex((m) => m.id === monitorId);
  const target = all[index];
  if (!target || !infos[index]) throw new CaptureError(monitorId === undefined ? 'No screen was found to capture.' : `Screen ${monitorId} is no longer connected.`, 'failed');
  const image = await native('capture the screen', () => target.captureImage());
  if (image.width === 0 || image.height === 0) throw new CaptureError('The screen capture came back empty (0 pixels).', 'failed');
  return { image, monitor: infos[index] };
}

/** Grabs every monitor, in the order the OS lists them (Capture Screen › All screens). */
export async function grabAllScreens(): Promise<ScreenShot[]> {
  const all = await native('list the screens', monitors);
  if (all.length === 0) throw new CaptureError('No screen was found to capture.', 'failed');
  const shots: ScreenShot[] = [];
  for (const m of all) {
    const image = await native('capture the screen', () => m.captureImage());
    if (image.width === 0 || image.height === 0) throw new CaptureError('The screen capture came back empty (0 pixels).', 'failed');
    shots.push({ image, monitor: describe(m) });
  }
  return shots;
}

/** The grabbed screen, or the `rect` of it (device pixels). */
async function cropShot(shot: ScreenShot, rect: PixelRect | undefined): Promise<NativeImage> {
  if (!rect) return shot.image;
  const r = clampSelection(rect, shot.image.width, shot.image.height);
  return native('crop the capture', () => shot.image.crop(r.x, r.y, r.width, r.height));
}

/** Encodes a grabbed screen, or the `rect` of it (device pixels), as a PNG capture. */
export async function encodeShot(shot: ScreenShot, kind: string, rect?: PixelRect): Promise<Capture> {
  const image = await cropShot(shot, rect);
  return { ...(await encodeGrab(image, { opaque: true })), name: captureName(kind), width: image.width, height: image.height, scaleFactor: shot.monitor.scaleFactor };
}

/** A grabbed image's RGBA pixels, and sharp pipelines over them (the alpha channel left out when `opaque`). */
async function rawGrab(image: NativeImage, opaque: boolean): Promise<{ pixels: RawPixels & { channels: 4 }; pipeline: () => Sharp }> {
  const data = await native('read the captured pixels', () => image.toRaw());
  const pixels = { data, width: image.width, height: image.height, channels: 4 as const };
  const sharp = await loadSharp();
  return {
    pixels,
    pipeline: () => {
      const raw = sharp(data, { raw: { width: pixels.width, height: pixels.height, channels: 4 } });
      return opaque ? raw.removeAlpha() : raw;
    },
  };
}

/** sharp's fastest PNG setting (see encodeGrab). */
const encodePng = (pipeline: () => Sharp): Promise<Buffer> => native('encode the capture', () => pipeline().png({ compressionLevel: 1 }).toBuffer());

/**
 * A grabbed image as PNG bytes plus its RGBA pixels (kept, so the model-sized copy needs no
 * decoding). sharp's fastest PNG setting: about as quick as node-screenshots' own encoder and a
 * third smaller for a typical screen, which the chat webview then loads sooner. A screen has no
 * transparency (`opaque`): its PNG leaves the alpha channel out, a quarter less to inflate.
 */
export async function encodeGrab(image: NativeImage, { opaque = false } = {}): Promise<Pick<Capture, 'bytes' | 'pixels'>> {
  const { pixels, pipeline } = await rawGrab(image, opaque);
  return { bytes: await encodePng(pipeline), pixels };
}

/**
 * A screen grab on its way to the chat: a JPEG display copy (the chat shows it at once: quicker to
 * encode than the PNG, and several times quicker for the webview to load and decode), with the
 * lossless PNG encoded after it, off the way to the chat. The PNG is what the model copy,
 * export and history keep; the chat shows the preview at the original's size, so coordinates match.
 */
export interface ChatGrab extends Omit<Capture, 'bytes' | 'pixels'> {
  pixels: RawPixels;
  /** A JPEG preview of the same pixels (shrunk by previewShrink), for display only. */
  display: Uint8Array;
  /** Encodes the lossless PNG (once; later calls share it). */
  png: () => Promise<Uint8Array>;
}

/** Display copy quality: text stays crisp at the chat's sizes (the model never sees this copy). */
export const DISPLAY_JPEG_QUALITY = 85;
/**
 * Longest side of the display copy: twice a wide chat sidebar, so it stays sharp on a HiDPI screen
 * until the user zooms in (the chat then loads the original). A 1080p screen's preview is a
 * quarter of its pixels: quicker to encode, to load and to decode.
 */
export const PREVIEW_MAX_SIDE = 1280;

/** The whole factor a grab is shrunk by for its display copy (1: shown at full size). */
export function previewShrink(width: number, height: number): number {
  return Math.max(1, Math.ceil(Math.max(width, height) / PREVIEW_MAX_SIDE));
}

/** Grabs a screen (or the `rect` of it) for the chat: display JPEG now, PNG on demand. */
export async function grabForChat(shot: ScreenShot, kind: string, rect?: PixelRect): Promise<ChatGrab> {
  const image = await cropShot(shot, rect);
  const { pixels, pipeline } = await rawGrab(image, true);
  const shrink = previewShrink(pixels.width, pixels.height);
  const display = await native('encode the capture', () => {
    const all = pipeline();
    const sized = shrink > 1 ? all.resize(Math.round(pixels.width / shrink), Math.round(pixels.height / shrink), { kernel: 'linear' }) : all;
    // One Huffman pass (optimiseCoding off): a few percent larger, a good deal quicker to write.
    return sized.jpeg({ quality: DISPLAY_JPEG_QUALITY, optimiseCoding: false }).toBuffer();
  });
  let png: Promise<Uint8Array> | undefined;
  return {
    name: captureName(kind),
    width: image.width,
    height: image.height,
    scaleFactor: shot.monitor.scaleFactor,
    pixels,
    display,
    png: () => (png ??= encodePng(pipeline)),
  };
}

/** The selection `rect` in whole pixels inside a width × height screenshot (clampRect); an empty one is refused. */
export function clampSelection(rect: PixelRect, width: number, height: number): PixelRect {
  const clamped = clampRect(rect, width, height);
  if (!clamped) throw new CaptureError('The selected region is empty.', 'failed');
  return clamped;
}

/** Runs `grab`; in a Wayland session without X, the desktop's screenshot tool captures instead. */
export async function orDesktopTool<T>(grab: () => Promise<T>): Promise<T | Capture> {
  try {
    return await grab();
  } catch (err) {
    if (err instanceof CaptureError && err.problem === 'wayland') return captureWithDesktopTool(err);
    throw err;
  }
}

/** Captures a monitor as a PNG capture (or with the desktop's tool, see orDesktopTool). */
export function captureScreen(monitorId?: number): Promise<Capture> {
  return orDesktopTool(async () => encodeShot(await grabScreen(monitorId), 'screen'));
}
