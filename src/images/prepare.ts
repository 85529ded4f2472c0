// Normalises an image once, before any engine sees it: upright (EXIF), cropped, alpha flattened,
// and stretched to exactly cols·448 × rows·448 of InternVL's reference grid, so llama.cpp tiles it
// as the reference model would and never letterboxes it. sharp is native, so it is loaded on
// first use, never at activation.
import { mkdir, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type sharpFunction from 'sharp';
import type { Sharp } from 'sharp';
import { decodeBmpFile } from './bmp';
import { ImageError, MAX_DECODE_PIXELS } from './probe';
import { clampMaxTiles, gridPixelSize, imageTokenCount, MAX_TILES, referenceGrid, type TileGrid } from './tiling';
import { createTransform, uprightSize, type ImageTransform, type Rect } from './transform';
import { fileExists, writeFileAtomic } from '../files';
import { errorMessage } from '../util/errorMessage';
import { sleep } from '../util/sleep';

export interface PreparedImage {
  /** A PNG exactly the grid's size: what engines are given. */
  modelPath: string;
  grid: TileGrid;
  /** Context tokens the image costs, markers included. */
  tokens: number;
  transform: ImageTransform;
}

export interface PrepareOptions {
  /** Where the model-sized copy is written (named after `key`, so preparing twice is free). */
  outDir: string;
  key: string;
  maxTiles?: number;
  /** Part of the upright image to keep, in upright pixels. */
  crop?: Rect | null;
  devicePixelRatio?: number;
  /** The file's pixels, already decoded and upright (a screen capture): spares decoding the file. */
  pixels?: RawPixels | null;
  /**
   * Return as soon as the copy's path, grid and transform are known and write it in the
   * background; whoever hands `modelPath` to an engine awaits modelCopyReady(modelPath) first.
   */
  background?: boolean;
}

/** Decoded 8-bit pixels, row by row, as a screen grab delivers them. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * How long a background copy waits before it starts. Getting a capture into the chat webview takes
 * the editor's processes ~100–150 ms of CPU; a resize running on every core meanwhile (~60 ms for
 * a screen) delays the image by as much on a 2-core machine. The model reads the copy only after
 * the question, and its own first token takes seconds.
 */
const BACKGROUND_START_MS = 200;

/**
 * Model-sized copies being written, by path. A failed write stays here, so that the turn that
 * needs the copy reports why; preparing the image again retries it.
 */
const writing = new Map<string, { done: Promise<void>; failed: boolean }>();

/** Resolves once the model-sized copy at `modelPath` exists (at once unless it is being written); rejects if writing it failed. */
export function modelCopyReady(modelPath: string): Promise<void> {
  return writing.get(modelPath)?.done ?? Promise.resolve();
}

/**
 * Starts writing `path` (after the background head start when `background`) unless a write of it
 * is already under way, and tracks it for modelCopyReady and modelCopiesSettled.
 */
function startWrite(path: string, write: () => Promise<void>, background: boolean): Promise<void> {
  // The same file asked for twice in quick succession: one write.
  const current = writing.get(path);
  if (current && !current.failed) return current.done;
  const entry = { done: background ? sleep(BACKGROUND_START_MS).then(write) : write(), failed: false };
  writing.set(path, entry);
  entry.done.then(
    () => writing.get(path) === entry && writing.delete(path),
    () => (entry.failed = true),
  );
  return entry.done;
}

/**
 * Writes a stored file (a capture's lossless original) in the background, after the same head
 * start as a model-sized copy; modelCopyReady(path) and modelCopiesSettled() wait for it too.
 */
export function writeInBackground(path: string, write: () => Promise<void>): Promise<void> {
  return startWrite(path, write, true);
}

/** Resolves once no model-sized copy is being written (before deleting stored images, say). */
export async function modelCopiesSettled(): Promise<void> {
  await Promise.allSettled([...writing.values()].map((e) => e.done));
}

type SharpFactory = typeof sharpFunction;
let sharpFactory: Promise<SharpFactory> | null = null;

/** sharp, loaded on first use (a native module: activation must not pay for it). */
export function loadSharp(): Promise<SharpFactory> {
  sharpFactory ??= import('sharp').then((m) => ((m as unknown as { default?: SharpFactory }).default ?? (m as unknown as SharpFactory)));
  return sharpFactory;
}

/** The image at `path` as a sharp pipeline; BMP, which libvips cannot read, is decoded here (in a worker thread). */
export async function openImage(path: string): Promise<Sharp> {
  const sharp = await loadSharp();
  const head = Buffer.alloc(2);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('ascii') === 'BM') {
    const bmp = await decodeBmpFile(path, basename(path));
    return sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 4 }, limitInputPixels: MAX_DECODE_PIXELS });
  }
  return sharp(path, { failOn: 'none', limitInputPixels: MAX_DECODE_PIXELS });
}

export async function prepareForModel(path: string, options: PrepareOptions): Promise<PreparedImage> {
  const maxTiles = clampMaxTiles(options.maxTiles ?? MAX_TILES);
  const pixels = options.pixels ?? null;
  let stored: { width: number; height: number };
  let orientation = 1;
  if (pixels) {
    stored = { width: pixels.width, height: pixels.height };
  } else {
    let meta;
    try {
      meta = await (await openImage(path)).metadata();
    } catch (err) {
      if (err instanceof ImageError) throw err;
      throw undecodable(path, err);
    }
    if (!meta.width || !meta.height) throw new ImageError(`${path} has no pixel size.`);
    stored = { width: meta.width, height: meta.height };
    orientation = meta.orientation ?? 1;
  }
  const upright = uprightSize(stored, orientation >= 1 && orientation <= 8 ? (orientation as 1) : 1);
  const crop = options.crop ?? { left: 0, top: 0, ...upright };
  const grid = referenceGrid(crop.width, crop.height, 1, maxTiles);
  const model = gridPixelSize(grid);
  const transform = createTransform({ stored, orientation, crop, model, devicePixelRatio: options.devicePixelRatio ?? 1 });
  const modelPath = modelCopyPath(options.outDir, options.key, grid, options.crop);
  const done = startWrite(modelPath, () => writeModelCopy(path, pixels, options, modelPath, model), options.background === true);
  if (!options.background) await done;
  return { modelPath, grid, tokens: imageTokenCount(grid), transform };
}

function undecodable(path: string, err: unknown): ImageError {
  return new ImageError(`${basename(path)} cannot be decoded for the model (${errorMessage(err)}). Save it as PNG or JPEG.`);
}

async function writeModelCopy(path: string, pixels: RawPixels | null, options: PrepareOptions, modelPath: string, size: { width: number; height: number }): Promise<void> {
  if (await fileExists(modelPath)) return;
  await mkdir(options.outDir, { recursive: true });
  const sharp = await loadSharp();
  let pipeline = pixels
    ? sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels }, limitInputPixels: MAX_DECODE_PIXELS })
    : (await openImage(path)).rotate();
  if (options.crop) pipeline = pipeline.extract(options.crop);
  // Stretched, not padded: InternVL's reference resizes without keeping the aspect ratio.
  // Transparent pixels become white: a diagram's black lines on a transparent background
  // would otherwise vanish into black.
  // Stored uncompressed (deflate level 0): llama.cpp decodes this file again on every turn,
  // follow-ups included (it hashes the pixels to find them in its KV cache), and inflating a
  // compressed copy costs ~15 ms of each turn on a 2-core CPU; writing it is quicker too. The
  // price is disk: 3 bytes a pixel (4.8 MB for a 4×2 grid), deleted with the captures.
  await writeFileAtomic(modelPath, (tmp) =>
    pipeline
      .resize(size.width, size.height, { fit: 'fill', kernel: 'cubic' })
      .flatten({ background: '#ffffff' })
      .png({ compressionLevel: 0 })
      .toFile(tmp)
      .catch((err: unknown) => {
        throw undecodable(path, err);
      }),
  );
}

/** Where prepareForModel writes the model-sized copy of the image named `key` (so a stored record can be rebuilt, not trusted). */
export function modelCopyPath(outDir: string, key: string, grid: TileGrid, crop: Rect | null | undefined): string {
  return join(outDir, `${key}.${grid.cols}x${grid.rows}${cropName(crop)}.png`);
}

function cropName(crop: Rect | null | undefined): string {
  return crop ? `.crop${crop.left}_${crop.top}_${crop.width}_${crop.height}` : '';
}
