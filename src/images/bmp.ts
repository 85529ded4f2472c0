// A BMP decoder for the formats screenshots and diagram tools write (uncompressed 8-, 24- and
// 32-bit, and 16/32-bit bitfields), because sharp (libvips) reads no BMP at all. The host runs it
// in a worker thread (decodeBmpFile, ./bmpDecoder.ts): a large file takes it a second or more.
import { Worker } from 'node:worker_threads';
import { bundledScript } from '../bundledScript';
import { BmpWorkerMessage, type BmpJob } from '../protocol/imageJobs';
import { parseMessage } from '../protocol/validate';
import { ImageError, MAX_DECODE_PIXELS } from './probe';

export interface RawImage {
  width: number;
  height: number;
  /** RGBA, row by row, top row first. */
  data: Buffer;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function maskReader(mask: number): (v: number) => number {
  if (!mask) return () => 255;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (v) => Math.round((((v & mask) >>> shift) / max) * 255);
}

export function decodeBmp(b: Buffer, name = 'the image'): RawImage {
  const fail = (why: string) => new ImageError(`${name} is a BMP InternVL Lens cannot read (${why}). Save it as PNG.`);
  if (b.length < 54 || b.toString('ascii', 0, 2) !== 'BM') throw fail('no BMP header');
  const dataOffset = b.readUInt32LE(10);
  const headerSize = b.readUInt32LE(14);
  if (headerSize < 40) throw fail('OS/2 header');
  const width = b.readInt32LE(18);
  const rawHeight = b.readInt32LE(22);
  const bpp = b.readUInt16LE(28);
  const compression = b.readUInt32LE(30);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height <= 0 || width * height > MAX_DECODE_PIXELS) throw fail(`size ${width}×${height}`);
  const bitfields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (!(compression === BI_RGB || (bitfields && (bpp === 16 || bpp === 32)))) throw fail(`compression ${compression}`);
  if (![8, 16, 24, 32].includes(bpp)) throw fail(`${bpp} bits per pixel`);
  // Masks follow a 40-byte header (BI_BITFIELDS) or sit inside a V4/V5 header.
  const masksAt = 54;
  const mask = (i: number, fallback: number) => (bitfields && b.length >= masksAt + 4 * (i + 1) ? b.readUInt32LE(masksAt + 4 * i) : fallback);
  const hasAlphaMask = bitfields && (compression === BI_ALPHABITFIELDS || headerSize >= 56);
  const defaults = bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0xff00, 0xff, 0];
  const [r, g, bl] = [0, 1, 2].map((i) => maskReader(mask(i, defaults[i]!)));
  const alpha = maskReader(hasAlphaMask ? mask(3, 0) : 0);
  const paletteAt = 14 + headerSize;
  const colours = b.readUInt32LE(46) || 256;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * height > b.length) throw fail('truncated pixel data');
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (bpp === 8) {
        const index = Math.min(b[row + x]!, colours - 1);
        const p = paletteAt + index * 4;
        data[o] = b[p + 2]!;
        data[o + 1] = b[p + 1]!;
        data[o + 2] = b[p]!;
        data[o + 3] = 255;
      } else if (bpp === 24 || (bpp === 32 && !bitfields)) {
        const p = row + x * (bpp / 8);
        data[o] = b[p + 2]!;
        data[o + 1] = b[p + 1]!;
        data[o + 2] = b[p]!;
        data[o + 3] = 255;
      } else {
        const v = bpp === 16 ? b.readUInt16LE(row + x * 2) : b.readUInt32LE(row + x * 4);
        data[o] = r!(v);
        data[o + 1] = g!(v);
        data[o + 2] = bl!(v);
        data[o + 3] = alpha(v);
      }
    }
  }
  return { width, height, data };
}

/** The BMP file at `path`, decoded in a worker thread; its pixels are moved back, not copied. */
export function decodeBmpFile(path: string, name: string): Promise<RawImage> {
  const script = bundledScript('bmpDecoder', 'images/bmpDecoder.ts');
  const worker = new Worker(script.path, { execArgv: script.execArgv, workerData: { path, name } satisfies BmpJob });
  return new Promise<RawImage>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
      void worker.terminate();
    };
    worker.once('message', (raw: unknown) =>
      settle(() => {
        try {
          const msg = parseMessage('BMP decoder', BmpWorkerMessage, raw);
          if (msg.type === 'refused') reject(new ImageError(msg.message));
          else resolve({ width: msg.width, height: msg.height, data: Buffer.from(msg.rgba) });
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
    worker.once('error', (err) => settle(() => reject(new ImageError(`${name} could not be decoded (${err.message}).`))));
    worker.once('exit', (code) => settle(() => reject(new ImageError(`The BMP decoder stopped (exit code ${code}) before ${name} was decoded.`))));
  });
}
