// Reads an image's format and pixel size from its header, without decoding it, so that a file
// that is not an image is refused before it reaches any engine.

import type { ImageFormat } from './formats';

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
}

export class ImageError extends Error {
  override name = 'ImageError';
}

/**
 * Most pixels decoded in the extension host (an 8K screen has 33 million): beyond this an image
 * is refused rather than risk the editor's memory.
 */
export const MAX_DECODE_PIXELS = 100_000_000;

function jpegSize(b: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    // Standalone markers carry no length.
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    if (len < 2) return null;
    i += 2 + len;
  }
  return null;
}

function webpSize(b: Buffer): { width: number; height: number } | null {
  const chunk = b.toString('ascii', 12, 16);
  if (chunk === 'VP8 ' && b.length >= 30) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X' && b.length >= 30) return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  return null;
}

/** Identifies an image from its first bytes (64 KiB is plenty: JPEG SOF markers sit early). */
export function probeImage(head: Buffer, name = 'the file'): ImageInfo {
  const sized = (format: ImageFormat, size: { width: number; height: number } | null): ImageInfo => {
    if (!size || size.width <= 0 || size.height <= 0) {
      throw new ImageError(`${name} looks like a ${format.toUpperCase()} image but its header is damaged (no valid size).`);
    }
    return { format, ...size };
  };
  if (head.length >= 24 && head.readUInt32BE(0) === 0x89504e47 && head.toString('ascii', 12, 16) === 'IHDR') {
    return sized('png', { width: head.readUInt32BE(16), height: head.readUInt32BE(20) });
  }
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return sized('jpeg', jpegSize(head));
  if (head.length >= 10 && (head.toString('ascii', 0, 6) === 'GIF87a' || head.toString('ascii', 0, 6) === 'GIF89a')) {
    return sized('gif', { width: head.readUInt16LE(6), height: head.readUInt16LE(8) });
  }
  if (head.length >= 26 && head.toString('ascii', 0, 2) === 'BM') {
    return sized('bmp', { width: Math.abs(head.readInt32LE(18)), height: Math.abs(head.readInt32LE(22)) });
  }
  if (head.length >= 16 && head.toString('ascii', 0, 4) === 'RIFF' && head.toString('ascii', 8, 12) === 'WEBP') {
    return sized('webp', webpSize(head));
  }
  throw new ImageError(`${name} is not an image InternVL Lens can read (PNG, JPEG, WebP, GIF or BMP).`);
}
