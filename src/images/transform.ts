// One transform per attachment, from the image the model was shown back to the pixels the user
// has: EXIF orientation, crop, resize to the tile grid, and the device-pixel ratio of captures.
// Spaces (continuous; pixel edges at integers):
//   stored     the raster as the file stores it (before EXIF orientation)
//   upright    the image as viewers show it — "original pixels", what regions are reported in
//   normalised 0..1 of the kept (cropped) part: what the model answers in
//   model      pixels of the resized image the engine got
//   logical    upright / devicePixelRatio (screen points of a HiDPI capture)
import type { Quad, Region } from '../grounding';
import { GROUNDING_SCHEMA, type GroundingResult, type PublicRegion } from '../protocol/grounding';
import type { PixelRect } from '../protocol/rect';

export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export type Point = [x: number, y: number];
export interface Size {
  width: number;
  height: number;
}
export interface Rect extends Size {
  left: number;
  top: number;
}

export interface ImageTransform {
  stored: Size;
  /** How the stored raster turns upright (EXIF); 1 = as stored. */
  orientation: ExifOrientation;
  /** The part of the upright image that was kept, in upright pixels. */
  crop: Rect;
  /** The size of the image the model was shown. */
  model: Size;
  /** Device pixels per logical pixel of a capture (2 on a Retina screenshot); 1 for files. */
  devicePixelRatio: number;
}

/** Region in upright (original) pixels: the same shape as a Region, other units. */
export type PixelRegion =
  | { kind: 'box'; label: string | null; box: [x1: number, y1: number, x2: number, y2: number] }
  | { kind: 'point'; label: string | null; point: Point }
  | { kind: 'quad'; label: string | null; quad: Quad };

/** EXIF orientations 5–8 turn the raster a quarter: width and height swap. */
export function uprightSize(stored: Size, orientation: ExifOrientation): Size {
  return orientation >= 5 ? { width: stored.height, height: stored.width } : { ...stored };
}

/** Whether the model was shown the whole upright image (no crop). */
export function isWholeImage(t: ImageTransform): boolean {
  const upright = uprightSize(t.stored, t.orientation);
  return t.crop.left === 0 && t.crop.top === 0 && t.crop.width === upright.width && t.crop.height === upright.height;
}

/** A rectangle from a boundary (webview, region panel) as a crop; the one conversion each way. */
export function cropFromPixelRect(r: PixelRect): Rect {
  return { left: r.x, top: r.y, width: r.width, height: r.height };
}

/** A crop as the boundary's rectangle. */
export function pixelRectFromCrop(c: Rect): PixelRect {
  return { x: c.left, y: c.top, width: c.width, height: c.height };
}

export function createTransform(options: {
  stored: Size;
  orientation?: number;
  crop?: Rect | null;
  model: Size;
  devicePixelRatio?: number;
}): ImageTransform {
  const orientation = (Number.isInteger(options.orientation) && options.orientation! >= 1 && options.orientation! <= 8 ? options.orientation : 1) as ExifOrientation;
  const upright = uprightSize(options.stored, orientation);
  const crop = options.crop ?? { left: 0, top: 0, ...upright };
  if (crop.left < 0 || crop.top < 0 || crop.width <= 0 || crop.height <= 0 || crop.left + crop.width > upright.width || crop.top + crop.height > upright.height) {
    throw new RangeError(`crop ${JSON.stringify(crop)} is outside the ${upright.width}×${upright.height} image`);
  }
  const devicePixelRatio = options.devicePixelRatio ?? 1;
  if (!(devicePixelRatio > 0)) throw new RangeError(`device-pixel ratio must be positive, got ${devicePixelRatio}`);
  return { stored: { ...options.stored }, orientation, crop: { ...crop }, model: { ...options.model }, devicePixelRatio };
}

export function storedToUpright(t: ImageTransform, [x, y]: Point): Point {
  const { width: w, height: h } = t.stored;
  switch (t.orientation) {
    case 1: return [x, y];
    case 2: return [w - x, y];
    case 3: return [w - x, h - y];
    case 4: return [x, h - y];
    case 5: return [y, x];
    case 6: return [h - y, x];
    case 7: return [h - y, w - x];
    case 8: return [y, w - x];
  }
}

/** The orientation that turns an upright image back as stored: 6 (a quarter turn) and 8 undo each other, the rest themselves. */
const INVERSE_ORIENTATION: Record<ExifOrientation, ExifOrientation> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6 };

/** The inverse of storedToUpright: the upright image, turned by the inverse orientation. */
export function uprightToStored(t: ImageTransform, point: Point): Point {
  return storedToUpright({ ...t, stored: uprightSize(t.stored, t.orientation), orientation: INVERSE_ORIENTATION[t.orientation] }, point);
}

export function uprightToNormalised(t: ImageTransform, [x, y]: Point): Point {
  return [(x - t.crop.left) / t.crop.width, (y - t.crop.top) / t.crop.height];
}

export function normalisedToUpright(t: ImageTransform, [x, y]: Point): Point {
  return [t.crop.left + x * t.crop.width, t.crop.top + y * t.crop.height];
}

export function normalisedToModel(t: ImageTransform, [x, y]: Point): Point {
  return [x * t.model.width, y * t.model.height];
}

export function modelToNormalised(t: ImageTransform, [x, y]: Point): Point {
  return [x / t.model.width, y / t.model.height];
}

export function uprightToLogical(t: ImageTransform, [x, y]: Point): Point {
  return [x / t.devicePixelRatio, y / t.devicePixelRatio];
}

/** A region from the model (0..1 of what it was shown) in upright original pixels. */
export function regionToPixels(t: ImageTransform, region: Region): PixelRegion {
  if (region.kind === 'point') return { kind: 'point', label: region.label, point: normalisedToUpright(t, region.point) };
  if (region.kind === 'quad') {
    const q = region.quad;
    const corners = [0, 2, 4, 6].flatMap((k) => normalisedToUpright(t, [q[k]!, q[k + 1]!]));
    return { kind: 'quad', label: region.label, quad: corners as Quad };
  }
  const [x1, y1] = normalisedToUpright(t, [region.box[0], region.box[1]]);
  const [x2, y2] = normalisedToUpright(t, [region.box[2], region.box[3]]);
  return { kind: 'box', label: region.label, box: [x1, y1, x2, y2] };
}

/** A region's original-pixel coordinates, rounded to whole pixels: x1, y1, x2, y2; x, y; or a quad's four corners. */
export function pixelCoordinates(t: ImageTransform, region: Region): number[] {
  return regionCoordinates(regionToPixels(t, region)).map((v) => Math.round(v));
}

/** The numbers of a region, whatever its kind, in its own order. */
export function regionCoordinates(r: Region | PixelRegion): readonly number[] {
  return r.kind === 'box' ? r.box : r.kind === 'point' ? r.point : r.quad;
}

/**
 * A region in the public grounding schema (src/protocol/grounding.ts): whole original pixels,
 * clamped to the image, plus the model's own 0..1 coordinates.
 */
export function toPublicRegion(t: ImageTransform, region: Region): PublicRegion {
  const { width, height } = uprightSize(t.stored, t.orientation);
  const unit = (n: number) => Math.min(1, Math.max(0, n));
  const px = (n: number, max: number) => Math.min(max, Math.max(0, Math.round(n)));
  const p = regionToPixels(t, region);
  if (p.kind === 'point' && region.kind === 'point') {
    return { kind: 'point', label: region.label, point: [px(p.point[0], width), px(p.point[1], height)], normalized: [unit(region.point[0]), unit(region.point[1])] };
  }
  if (p.kind === 'box' && region.kind === 'box') {
    const [x1, y1, x2, y2] = p.box;
    const [a, b, c, d] = region.box;
    return { kind: 'box', label: region.label, box: [px(x1, width), px(y1, height), px(x2, width), px(y2, height)], normalized: [unit(a), unit(b), unit(c), unit(d)] };
  }
  if (p.kind === 'quad' && region.kind === 'quad') {
    const quad = p.quad.map((n, k) => px(n, k % 2 === 0 ? width : height));
    return { kind: 'quad', label: region.label, quad: quad as Quad, normalized: region.quad.map(unit) as Quad };
  }
  throw new Error('region kinds differ');
}

/** The public grounding result for an answer about one image: its regions in original pixels. */
export function toGroundingResult(t: ImageTransform, answer: string, regions: readonly Region[], path?: string): GroundingResult {
  const { width, height } = uprightSize(t.stored, t.orientation);
  return {
    schema: GROUNDING_SCHEMA,
    image: { ...(path !== undefined ? { path } : {}), width, height, devicePixelRatio: t.devicePixelRatio },
    answer,
    regions: regions.map((r) => toPublicRegion(t, r)),
  };
}

/**
 * A rectangle the user drew, in upright original pixels, as InternVL's referring box: whole
 * numbers in 0..1000 of what the model sees (the kept part, after any crop), cut to it; null when
 * nothing of it lies in the kept part.
 */
export function referringBox(t: ImageTransform, r: PixelRect): [number, number, number, number] | null {
  const k = (n: number) => Math.min(1000, Math.max(0, Math.round(n * 1000)));
  const [a, b] = uprightToNormalised(t, [r.x, r.y]);
  const [c, d] = uprightToNormalised(t, [r.x + r.width, r.y + r.height]);
  const box: [number, number, number, number] = [k(a), k(b), k(c), k(d)];
  return box[2] > box[0] && box[3] > box[1] ? box : null;
}
