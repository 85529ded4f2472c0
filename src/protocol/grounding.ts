// The public grounding result: what `internvlLens.ground`, the CLI, the language-model tools and the
// MCP server give back. Other programs rely on it, so it has one home (this file), a version in its
// `schema` field, and a JSON Schema beside it (schemas/grounding-result.v1.json, checked against
// this file by test/unit/grounding-schema.test.ts). Coordinates:
//   box / point   original pixels of the upright image (EXIF applied), integers, origin top left;
//                 a box is [x1, y1, x2, y2] with x2 ≥ x1, y2 ≥ y1 (edges, not inclusive pixels);
//                 a quad is four corners [x1, y1, x2, y2, x3, y3, x4, y4] (a closed polygon)
//   normalized    the same place as the model wrote it, 0..1 of the image the model was shown
//                 (after any crop the user asked for)
//   divide by image.devicePixelRatio for screen points of a HiDPI capture (CSS pixels).
import * as v from 'valibot';
import { PixelRect } from './rect';

export const GROUNDING_SCHEMA = 'internvl-lens/grounding/v1' as const;

const Label = v.nullable(v.pipe(v.string(), v.maxLength(10_000)));
const Pixel = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));
const Unit = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1));

export const PublicRegion = v.variant('kind', [
  v.object({
    kind: v.literal('box'),
    label: Label,
    box: v.strictTuple([Pixel, Pixel, Pixel, Pixel]),
    normalized: v.strictTuple([Unit, Unit, Unit, Unit]),
  }),
  v.object({
    kind: v.literal('point'),
    label: Label,
    point: v.strictTuple([Pixel, Pixel]),
    normalized: v.strictTuple([Unit, Unit]),
  }),
  // Added within v1 (additive: a result without quads reads as before; a reader that meets a
  // kind it does not know should skip that region). Four corners x1, y1 … x4, y4 in the model's order.
  v.object({
    kind: v.literal('quad'),
    label: Label,
    quad: v.strictTuple([Pixel, Pixel, Pixel, Pixel, Pixel, Pixel, Pixel, Pixel]),
    normalized: v.strictTuple([Unit, Unit, Unit, Unit, Unit, Unit, Unit, Unit]),
  }),
]);
export type PublicRegion = v.InferOutput<typeof PublicRegion>;

export const GroundingImage = v.object({
  /** Where the image is, when it is a file the caller can open. */
  path: v.optional(v.string()),
  /** Upright size in original pixels: the space of every box and point. */
  width: v.pipe(v.number(), v.integer(), v.minValue(1)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** Device pixels per logical pixel of a screen capture; 1 for files. */
  devicePixelRatio: v.pipe(v.number(), v.finite(), v.minValue(0.25), v.maxValue(16)),
});
export type GroundingImage = v.InferOutput<typeof GroundingImage>;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * Added within v1 (optional, additive): a zoom-in refine ran after the first pass. `regions` are
 * then the refined ones where a second look found one; this keeps what the first pass said.
 */
export const GroundingRefinement = v.object({
  /** The first pass's regions, one per entry of `regions`, in the same order. */
  coarse: v.array(PublicRegion),
  /** Per region: whether it is the refined one (false: the first pass's, kept). */
  refined: v.array(v.boolean()),
  /** Per region: the window the second pass saw, in original pixels; null where none was needed. */
  windows: v.array(v.nullable(PixelRect)),
  /** The second passes' answers, in order. */
  answers: v.array(v.string()),
  passes: Count,
  /** What the second passes cost: prompt tokens (images included), image tokens, wall time. */
  promptTokens: Count,
  imageTokens: Count,
  milliseconds: Count,
});
export type GroundingRefinement = v.InferOutput<typeof GroundingRefinement>;

export const GroundingResult = v.object({
  schema: v.literal(GROUNDING_SCHEMA),
  image: GroundingImage,
  /** The model's answer as written (tags included). */
  answer: v.string(),
  regions: v.array(PublicRegion),
  /** A PNG of the image with the regions drawn, at its original size, when the caller asked for one. */
  annotatedImage: v.optional(v.pipe(v.string(), v.minLength(1))),
  refinement: v.optional(GroundingRefinement),
});
export type GroundingResult = v.InferOutput<typeof GroundingResult>;
