// Animated PNG, which libvips (sharp) reads as its first frame only: the chunks are read here
// (every length checked against the file), each frame is made a PNG of its own for sharp to decode,
// and frames are composed as the APNG specification says (dispose and blend operations).
import { CaptureError } from '../capture/errors';
import { loadSharp } from '../images';
import { MAX_DECODE_PIXELS } from '../images/probe';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_FRAMES = 10_000;

interface Chunk {
  type: string;
  data: Buffer;
}

export interface ApngFrame {
  width: number;
  height: number;
  x: number;
  y: number;
  delayMs: number;
  dispose: 0 | 1 | 2;
  blend: 0 | 1;
  /** The frame's compressed image data (IDAT contents, or fdAT without its sequence number). */
  data: Buffer[];
}

export interface ApngAnimation {
  width: number;
  height: number;
  frames: ApngFrame[];
  /** Composes frames 0..last in order, handing each composed canvas (RGBA) to `visit` as it is. */
  compose(visit: (index: number, rgba: Buffer) => Promise<void>, last: number): Promise<void>;
}

let crcTable: Uint32Array | null = null;
function crc32(buf: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function chunks(bytes: Buffer, name: string): Chunk[] {
  const out: Chunk[] = [];
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (at + 12 + length > bytes.length) throw damaged(name, `${type} runs past the end`);
    out.push({ type, data: bytes.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  return out;
}

function damaged(name: string, why: string): CaptureError {
  return new CaptureError(`${name} is a damaged animated PNG (${why}).`, 'unavailable');
}

/** Reads `length` bytes at `offset` of a file or buffer (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Promise<Buffer> | Buffer;

/** The most chunks looked through for acTL before giving up. */
const MAX_CHUNKS_BEFORE_IMAGE = 1024;

/**
 * Whether a PNG of `size` bytes is an APNG: an acTL chunk before its first IDAT. Only the chunk
 * headers are read (8 bytes each), so a file is told from a few hundred bytes, however big it is.
 */
export async function isApngAt(read: ReadAt, size: number): Promise<boolean> {
  if (!(await read(0, 8)).equals(SIGNATURE)) return false;
  let at = 8;
  for (let n = 0; n < MAX_CHUNKS_BEFORE_IMAGE && at + 8 <= size; n++) {
    const header = await read(at, 8);
    if (header.length < 8) return false;
    const type = header.toString('latin1', 4, 8);
    if (type === 'acTL') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    at += 12 + header.readUInt32BE(0);
  }
  return false;
}

/** isApngAt over bytes in memory. */
export function isApng(bytes: Buffer): Promise<boolean> {
  return isApngAt((offset, length) => bytes.subarray(offset, offset + length), bytes.length);
}

/** The frames of an APNG (chunks checked); compose() decodes them. */
export function apngFrames(bytes: Buffer, name: string): ApngAnimation {
  const all = chunks(bytes, name);
  const ihdr = all[0];
  if (ihdr?.type !== 'IHDR' || ihdr.data.length !== 13) throw damaged(name, 'no IHDR first');
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  if (!(width > 0 && height > 0) || width * height > MAX_DECODE_PIXELS) throw new CaptureError(`${name} is ${width}×${height}; images over ${MAX_DECODE_PIXELS / 1e6} megapixels are refused.`, 'too-large');
  const shared: Chunk[] = [];
  const frames: ApngFrame[] = [];
  let current: ApngFrame | null = null;
  let seenData = false;
  for (const c of all.slice(1)) {
    if (c.type === 'fcTL') {
      if (c.data.length !== 26) throw damaged(name, 'an fcTL of the wrong size');
      const d = c.data;
      const den = d.readUInt16BE(22) || 100;
      current = {
        width: d.readUInt32BE(4),
        height: d.readUInt32BE(8),
        x: d.readUInt32BE(12),
        y: d.readUInt32BE(16),
        delayMs: (d.readUInt16BE(20) / den) * 1000,
        dispose: Math.min(d.readUInt8(24), 2) as 0 | 1 | 2,
        blend: Math.min(d.readUInt8(25), 1) as 0 | 1,
        data: [],
      };
      if (current.width === 0 || current.height === 0 || current.x + current.width > width || current.y + current.height > height) throw damaged(name, 'a frame outside the image');
      frames.push(current);
      if (frames.length > MAX_FRAMES) throw new CaptureError(`${name} has more than ${MAX_FRAMES} frames; it is refused.`, 'too-large');
    } else if (c.type === 'IDAT') {
      seenData = true;
      // The default image is the first frame only when an fcTL came before it.
      current?.data.push(c.data);
    } else if (c.type === 'fdAT') {
      if (!current || c.data.length < 4) throw damaged(name, 'frame data without a frame');
      current.data.push(c.data.subarray(4));
    } else if (!seenData && c.type !== 'acTL' && c.type !== 'IEND') {
      shared.push(c);
    }
  }
  const usable = frames.filter((f) => f.data.length > 0);
  if (usable.length === 0) throw damaged(name, 'no frames');
  const framePng = (f: ApngFrame): Buffer => {
    const head = Buffer.from(ihdr.data);
    head.writeUInt32BE(f.width, 0);
    head.writeUInt32BE(f.height, 4);
    return Buffer.concat([SIGNATURE, chunk('IHDR', head), ...shared.map((c) => chunk(c.type, c.data)), chunk('IDAT', Buffer.concat(f.data)), chunk('IEND', Buffer.alloc(0))]);
  };
  return {
    width,
    height,
    frames: usable,
    async compose(visit, last) {
      const sharp = await loadSharp();
      const canvas = Buffer.alloc(width * height * 4);
      for (let i = 0; i <= last && i < usable.length; i++) {
        const f = usable[i]!;
        const pixels = await sharp(framePng(f)).ensureAlpha().raw().toBuffer().catch((err: Error) => {
          throw damaged(name, `frame ${i}: ${err.message}`);
        });
        const saved = f.dispose === 2 && i > 0 ? Buffer.from(canvas) : null;
        for (let row = 0; row < f.height; row++) {
          for (let col = 0; col < f.width; col++) {
            const s = (row * f.width + col) * 4;
            const d = ((f.y + row) * width + f.x + col) * 4;
            const a = pixels[s + 3]!;
            if (f.blend === 0 || a === 255) pixels.copy(canvas, d, s, s + 4);
            else if (a > 0) {
              const da = canvas[d + 3]! / 255;
              const sa = a / 255;
              const oa = sa + da * (1 - sa);
              for (let k = 0; k < 3; k++) canvas[d + k] = Math.round((pixels[s + k]! * sa + canvas[d + k]! * da * (1 - sa)) / oa);
              canvas[d + 3] = Math.round(oa * 255);
            }
          }
        }
        await visit(i, Buffer.from(canvas));
        if (f.dispose === 1 || (f.dispose === 2 && !saved)) {
          for (let row = 0; row < f.height; row++) canvas.fill(0, ((f.y + row) * width + f.x) * 4, ((f.y + row) * width + f.x + f.width) * 4);
        } else if (saved) saved.copy(canvas);
      }
    },
  };
}
