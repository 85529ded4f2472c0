// What every capture produces: encoded image bytes plus where the pixels came from.
import { ImageError, type ImageInfo, probeImage, type RawPixels } from '../images';
import { CaptureError } from './errors';

export interface Capture {
  /** PNG bytes. */
  bytes: Uint8Array;
  /** A file name for display, e.g. "screen-2026-11-26-13-30-05.png". */
  name: string;
  /** Size in device pixels. */
  width: number;
  height: number;
  /** Device pixels per logical pixel of the screen it came from, for mapping coordinates back. */
  scaleFactor: number;
  /** The decoded RGBA pixels behind `bytes`, when the capture had them (screen and window grabs). */
  pixels?: RawPixels;
}

/** Most pixels accepted from any capture or pasted image (an 8K screen has 33 million). */
export const MAX_CAPTURE_PIXELS = 50_000_000;

export function captureName(kind: string, at = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}-${pad(at.getHours())}-${pad(at.getMinutes())}-${pad(at.getSeconds())}`;
  return `${kind}-${stamp}.png`;
}

/** Refuses bytes that are empty, not an image, or above MAX_CAPTURE_PIXELS, before anything decodes them. */
export function checkCapturedImage(bytes: Uint8Array, name: string): ImageInfo {
  if (bytes.byteLength === 0) throw new ImageError(`${name} is empty (0 bytes), so there is no image.`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 256 * 1024));
  const info = probeImage(buf, name);
  const pixels = info.width * info.height;
  if (pixels > MAX_CAPTURE_PIXELS) {
    const mp = (n: number) => `${(n / 1e6).toFixed(0)} megapixels`;
    throw new CaptureError(
      `${name} is ${info.width}×${info.height} (${mp(pixels)}); images over ${mp(MAX_CAPTURE_PIXELS)} are refused. Crop or scale it down first.`,
      'too-large',
    );
  }
  return info;
}
