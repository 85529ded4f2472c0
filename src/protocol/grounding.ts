// The public grounding result: what `internvlLens.ground`, the CLI, the language-model tools and the
// MCP server give back. Other programs rely on it, so it has one home (this file), a version in its
// `schema` field, and a JSON Schema beside it (schemas/grounding-result.v1.json, checked against
// this file by test/unit/grounding-schema.test.ts). Coordinates:
//   box / point   original pixels of the upright image (EXIF applied), integers, origin top left;
//                 a box is [x1, y1, x2, y2] with x2 ≥ x1, y2 ≥ y1 (edges, not inclusive pixels)
//   normalized    the same place as the model wrote it, 0..1 of the image the model was shown
//                 (after any crop the user asked for)
//   divide by image.devicePixelRatio for screen points of a HiDPI capture (CSS pixels).
import * as v from 'valibot';

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

export const GroundingResult = v.object({
  schema: v.literal(GROUNDING_SCHEMA),
  image: GroundingImage,
  /** The model's answer as written (tags included). */
  answer: v.string(),
  regions: v.array(PublicRegion),
  /** A PNG of the image with the regions drawn, at its original size, when the caller asked for one. */
  annotatedImage: v.optional(v.pipe(v.string(), v.minLength(1))),
});
export type GroundingResult = v.InferOutput<typeof GroundingResult>;
