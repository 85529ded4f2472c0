// Normalises an image once, before any engine sees it: upright (EXIF), cropped, alpha flattened,
// and stretched to exactly cols·448 × rows·448 of InternVL's reference grid, so llama.cpp tiles it
// as the reference model would and never letterboxes it. sharp is native, so it is loaded on
// first use, never at activation.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type sharpFunction from 'sharp';
import type { Sharp } from 'sharp';
import { decodeBmp } from './bmp';
import { ImageError, MAX_DECODE_PIXELS } from './probe';
import { gridPixelSize, imageTokenCount, MAX_TILES, referenceGrid, type TileGrid } from './tiling';
import { createTransform, uprightSize, type ImageTransform, type Rect } from './transform';
import { fileExists } from '../files';

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
}

type SharpFactory = typeof sharpFunction;
let sharpFactory: Promise<SharpFactory> | null = null;

/** sharp, loaded on first use (a native module: activation must not pay for it). */
export function loadSharp(): Promise<SharpFactory> {
  sharpFactory ??= import('sharp').then((m) => ((m as unknown as { default?: SharpFactory }).default ?? (m as unknown as SharpFactory)));
  return sharpFactory;
}

/** The image at `path` as a sharp pipeline; BMP, which libvips cannot read, is decoded here. */
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
    const bmp = decodeBmp(await readFile(path), basename(path));
    return sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 4 }, limitInputPixels: MAX_DECODE_PIXELS });
  }
  return sharp(path, { failOn: 'none', limitInputPixels: MAX_DECODE_PIXELS });
}

export async function prepareForModel(path: string, options: PrepareOptions): Promise<PreparedImage> {
  const maxTiles = Math.min(MAX_TILES, Math.max(1, Math.round(options.maxTiles ?? MAX_TILES)));
  let meta;
  try {
    meta = await (await openImage(path)).metadata();
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${basename(path)} cannot be decoded for the model (${(err as Error).message}). Save it as PNG or JPEG.`);
  }
  if (!meta.width || !meta.height) throw new ImageError(`${path} has no pixel size.`);
  const stored = { width: meta.width, height: meta.height };
  const orientation = meta.orientation ?? 1;
  const upright = uprightSize(stored, orientation >= 1 && orientation <= 8 ? (orientation as 1) : 1);
  const crop = options.crop ?? { left: 0, top: 0, ...upright };
  const grid = referenceGrid(crop.width, crop.height, 1, maxTiles);
  const model = gridPixelSize(grid);
  const transform = createTransform({ stored, orientation, crop, model, devicePixelRatio: options.devicePixelRatio ?? 1 });
  const modelPath = join(options.outDir, `${options.key}.${grid.cols}x${grid.rows}${cropName(options.crop)}.png`);
  if (!(await fileExists(modelPath))) {
    await mkdir(options.outDir, { recursive: true });
    let pipeline = (await openImage(path)).rotate();
    if (options.crop) pipeline = pipeline.extract(options.crop);
    // Stretched, not padded: InternVL's reference resizes without keeping the aspect ratio.
    // Transparent pixels become white: a diagram's black lines on a transparent background
    // would otherwise vanish into black.
    const tmp = `${modelPath}.${process.pid}.tmp`;
    await pipeline
      .resize(model.width, model.height, { fit: 'fill', kernel: 'cubic' })
      .flatten({ background: '#ffffff' })
      .png({ compressionLevel: 1 })
      .toFile(tmp);
    await rename(tmp, modelPath);
  }
  return { modelPath, grid, tokens: imageTokenCount(grid), transform };
}

function cropName(crop: Rect | null | undefined): string {
  return crop ? `.crop${crop.left}_${crop.top}_${crop.width}_${crop.height}` : '';
}
