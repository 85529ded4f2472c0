// Zoom-in refine: a second, closer look after a locate pass. InternVL sees a 4K screen on its
// 12-tile grid shrunk about 2×, so small icons and text blur and boxes land a few pixels off.
// For each box the first pass found, a window around it (at least one tile, 448×448 original
// pixels, with context around the box, inside the kept part of the image) is cut out, put on its
// own reference grid, and the same target is located in it; the answer, in the window's 0..1000,
// goes back through the window's transform to original pixels and then into the whole image's
// 0..1 — exactly, with no rounding on the way (test/unit/refine.test.ts: within 1 px).
//
// The one home of the policy and the passes: internvlLens.ground, the chat's locate presets, the
// CLI's `ground --refine`, the MCP server's `locate` and the language-model tools all call
// refineRegions (and shouldRefine for the `auto` decision).
import type { RefineMode } from '../config';
import type { ChatStats, Engine } from '../engine/engine';
import { parseRegions, quadBounds, type Quad, type Region } from '../grounding';
import { prepareForModel, type RawPixels } from './prepare';
import { gridPixelSize, referenceGrid, TILE_SIZE } from './tiling';
import type { GroundingResult } from '../protocol/grounding';
import { normalisedToUpright, pixelRectFromCrop, regionToPixels, toGroundingResult, toPublicRegion, uprightToNormalised, type ImageTransform, type Point, type Rect } from './transform';

/** `auto` refines when the grid shrinks the image by more than this (on its more shrunk side). */
export const REFINE_AUTO_SHRINK = 1.5;
/** A window is at least one tile of original pixels on each side (less only where the image is smaller). */
export const REFINE_MIN_WINDOW = TILE_SIZE;
/** …and this many times the box's own size, for context around it. */
export const REFINE_CONTEXT = 3;
/** At most this many boxes get a second look (a "find all" answer may hold dozens). */
export const MAX_REFINED_REGIONS = 6;

/** How much the grid shrinks the kept part of the image: original pixels per model pixel on the more shrunk side (< 1: enlarged). */
export function shrinkFactor(t: ImageTransform): number {
  return Math.max(t.crop.width / t.model.width, t.crop.height / t.model.height);
}

/** Whether a locate pass over an image with this transform gets a second, zoomed-in pass. */
export function shouldRefine(mode: RefineMode, t: ImageTransform): boolean {
  return mode === 'always' || (mode === 'auto' && shrinkFactor(t) > REFINE_AUTO_SHRINK);
}

/** A region's bounding box [x1, y1, x2, y2] in upright original pixels (a point's is empty). */
function pixelBounds(t: ImageTransform, region: Region): [number, number, number, number] {
  const px = regionToPixels(t, region);
  if (px.kind === 'box') return px.box;
  if (px.kind === 'point') return [px.point[0], px.point[1], px.point[0], px.point[1]];
  return quadBounds(px.quad);
}

/**
 * The window the second pass looks at for `region`, in upright original pixels: centred on the
 * region, REFINE_CONTEXT times its size and at least REFINE_MIN_WINDOW on each side, moved (not
 * cut) to lie inside the kept part of the image. Null when the window would show the model no
 * more detail than the first pass did (a small image, or a box as large as the image).
 */
export function refineWindow(t: ImageTransform, region: Region, maxTiles: number): Rect | null {
  const kept = t.crop;
  const [x1, y1, x2, y2] = pixelBounds(t, region);
  const side = (size: number, limit: number) => Math.min(limit, Math.max(REFINE_MIN_WINDOW, Math.ceil(size * REFINE_CONTEXT)));
  const width = side(x2 - x1, kept.width);
  const height = side(y2 - y1, kept.height);
  const place = (centre: number, size: number, from: number, length: number) => Math.min(from + length - size, Math.max(from, Math.round(centre - size / 2)));
  const window = { left: place((x1 + x2) / 2, width, kept.left, kept.width), top: place((y1 + y2) / 2, height, kept.top, kept.height), width, height };
  const model = gridPixelSize(referenceGrid(width, height, 1, maxTiles));
  const windowShrink = Math.max(width / model.width, height / model.height);
  // Worth a pass only when the window is seen sharper than the whole image was.
  return windowShrink < shrinkFactor(t) / 1.1 ? window : null;
}

/**
 * A region the model gave in a window's 0..1 (`window` is the window's transform) as the same
 * place in the whole image's 0..1 (`full`): window → upright original pixels → whole image.
 */
export function regionFromWindow(full: ImageTransform, window: ImageTransform, r: Region): Region {
  const map = (p: Point): Point => uprightToNormalised(full, normalisedToUpright(window, p));
  if (r.kind === 'point') return { kind: 'point', label: r.label, point: map(r.point) };
  if (r.kind === 'quad') {
    const q = r.quad;
    return { kind: 'quad', label: r.label, quad: [0, 2, 4, 6].flatMap((k) => map([q[k]!, q[k + 1]!])) as Quad };
  }
  const [a, b] = map([r.box[0], r.box[1]]);
  const [c, d] = map([r.box[2], r.box[3]]);
  return { kind: 'box', label: r.label, box: [a, b, c, d] };
}

export interface RefineRequest {
  engine: Engine;
  /** The image file the first pass was prepared from (its stored bytes; EXIF applied here too). */
  imagePath: string;
  /** Its decoded upright pixels when there is no file to decode yet (a screen grab). */
  pixels?: RawPixels | null;
  /** The first pass's transform and regions (0..1 of what it saw). */
  transform: ImageTransform;
  regions: readonly Region[];
  /** The prompt of the first pass: the same target is located in each window. */
  prompt: string;
  maxTiles: number;
  maxTokens: number;
  /** Where the windows' model-sized copies go, named after `key`. */
  outDir: string;
  key: string;
  signal?: AbortSignal;
}

export interface RefineOutcome {
  /** Per first-pass region, the refined one in the whole image's 0..1, or null (not looked at, or nothing found). */
  refined: (Region | null)[];
  /** Per first-pass region, the window looked at, in upright original pixels (null: none). */
  windows: (Rect | null)[];
  /** The second passes' answers, in order. */
  answers: string[];
  passes: number;
  /** What the second passes cost: prompt tokens evaluated (images included), their image tokens, generated tokens and wall time. */
  promptTokens: number;
  imageTokens: number;
  generatedTokens: number;
  milliseconds: number;
}

/** The region of `found` nearest `near` (centres, in the whole image's 0..1): the window may show neighbours too. */
function nearest(full: ImageTransform, found: readonly Region[], near: Region): Region | null {
  const centre = (r: Region) => {
    const [x1, y1, x2, y2] = pixelBounds(full, r);
    return [(x1 + x2) / 2, (y1 + y2) / 2] as const;
  };
  const [cx, cy] = centre(near);
  let best: Region | null = null;
  let bestDistance = Infinity;
  for (const r of found) {
    const [x, y] = centre(r);
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    if (d < bestDistance) [best, bestDistance] = [r, d];
  }
  return best;
}

/** One second pass per first-pass region (up to MAX_REFINED_REGIONS), one after another. */
export async function refineRegions(request: RefineRequest): Promise<RefineOutcome> {
  const started = performance.now();
  const { transform: full } = request;
  const outcome: RefineOutcome = { refined: request.regions.map(() => null), windows: request.regions.map(() => null), answers: [], passes: 0, promptTokens: 0, imageTokens: 0, generatedTokens: 0, milliseconds: 0 };
  for (const [i, region] of request.regions.slice(0, MAX_REFINED_REGIONS).entries()) {
    request.signal?.throwIfAborted();
    const window = refineWindow(full, region, request.maxTiles);
    if (!window) continue;
    outcome.windows[i] = window;
    const prepared = await prepareForModel(request.imagePath, {
      outDir: request.outDir,
      key: request.key,
      crop: window,
      maxTiles: request.maxTiles,
      devicePixelRatio: full.devicePixelRatio,
      pixels: request.pixels ?? null,
    });
    const answer = await request.engine.chat([{ role: 'user', text: request.prompt, images: [{ path: prepared.modelPath }] }], { maxTokens: request.maxTokens, temperature: 0 }, () => undefined, request.signal);
    outcome.passes++;
    outcome.answers.push(answer.text);
    addStats(outcome, answer.stats, prepared.tokens);
    const found = parseRegions(answer.text).map((r) => regionFromWindow(full, prepared.transform, r));
    const chosen = nearest(full, found, region);
    // The first pass's label: the same target, the same colour.
    outcome.refined[i] = chosen && { ...chosen, label: region.label ?? chosen.label };
  }
  outcome.milliseconds = Math.round(performance.now() - started);
  return outcome;
}

function addStats(outcome: RefineOutcome, stats: ChatStats, imageTokens: number): void {
  outcome.promptTokens += stats.contextTokens ?? stats.promptTokens ?? 0;
  outcome.imageTokens += stats.imageTokens || imageTokens;
  outcome.generatedTokens += stats.generatedTokens;
}

/** The refinement in one line, for a turn's stats and a log: what the second look cost. */
export function describeRefinement(o: RefineOutcome): string {
  const found = o.refined.filter((r) => r !== null).length;
  return `refined ${found} of ${o.passes} (zoom-in pass${o.passes === 1 ? '' : 'es'}: +${o.promptTokens.toLocaleString('en')} prompt tokens, ${o.imageTokens.toLocaleString('en')} of them image, +${(o.milliseconds / 1000).toFixed(1)} s)`;
}

/** The regions to draw and report: each refined one where the second look found it, else the first pass's. */
export function bestRegions(coarse: readonly Region[], refined: readonly (Region | null)[] | null | undefined): Region[] {
  return coarse.map((r, i) => refined?.[i] ?? r);
}

/**
 * The public result of a locate with its refinement: `regions` are the best (refined where found),
 * `refinement` keeps the first pass's regions, the windows and the cost.
 */
export function refinedGroundingResult(t: ImageTransform, answer: string, coarse: readonly Region[], outcome: RefineOutcome | null, path?: string): GroundingResult {
  const result = toGroundingResult(t, answer, bestRegions(coarse, outcome?.refined), path);
  if (!outcome) return result;
  return {
    ...result,
    refinement: {
      coarse: coarse.map((r) => toPublicRegion(t, r)),
      refined: outcome.refined.map((r) => r !== null),
      windows: outcome.windows.map((w) => (w ? pixelRectFromCrop(w) : null)),
      answers: outcome.answers,
      passes: outcome.passes,
      promptTokens: outcome.promptTokens,
      imageTokens: outcome.imageTokens,
      milliseconds: outcome.milliseconds,
    },
  };
}
