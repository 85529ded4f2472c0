// The one shape a rectangle has where it crosses a boundary (the Capture Region panel, the chat's
// cropper, the screen grabber): { x, y, width, height } in an image's whole pixels. Inside images/
// a crop is a Rect { left, top, width, height } (sharp's shape); images/transform.ts converts.
import * as v from 'valibot';

/** Whole pixels from the image's edge. */
export const PixelOffset = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));
/** A whole number of pixels, at least one. */
export const PixelLength = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));

/** A rectangle in an image's whole pixels (a screenshot's device pixels, an image's upright pixels). */
export const PixelRect = v.object({ x: PixelOffset, y: PixelOffset, width: PixelLength, height: PixelLength });
export type PixelRect = v.InferOutput<typeof PixelRect>;

/** `rect` rounded to whole pixels and cut to a width × height image; null when nothing of it is left. */
export function clampRect(rect: PixelRect, width: number, height: number): PixelRect | null {
  const x = Math.min(Math.max(0, Math.round(rect.x)), width - 1);
  const y = Math.min(Math.max(0, Math.round(rect.y)), height - 1);
  const w = Math.min(Math.round(rect.width), width - x);
  const h = Math.min(Math.round(rect.height), height - y);
  return w >= 1 && h >= 1 ? { x, y, width: w, height: h } : null;
}
