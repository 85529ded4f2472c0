// One question about images prepared for the model → the public grounding result
// (src/protocol/grounding.ts): what the CLI and the MCP server (cli/analyseImage.ts),
// `internvlLens.ground` and the language-model tools (src/tools/) all do, once. Regions are mapped
// into the original pixels of the last image, the one the chat draws them over too (the
// Conversation's turn target). No vscode import.
import type { RefineMode } from '../config';
import type { ChatStats, Engine, TokenListener } from '../engine/engine';
import { bestRegions, refinedGroundingResult, refineRegions, shouldRefine, type RefineOutcome } from '../images/refine';
import { toPublicRegion, uprightSize, type ImageTransform } from '../images/transform';
import { GROUNDING_SCHEMA, type GroundingResult, type PublicRegion } from '../protocol/grounding';
import { parseRegions } from './parse';
import type { Region } from './region';

/** An image as the model is shown it (a prepared copy) and how to map answers back; `path`: the file the caller named, reported back as image.path. */
export interface ImageToAnswer {
  modelPath: string;
  transform: ImageTransform;
  path?: string;
}

export interface AnswerOptions {
  maxTokens: number;
  signal?: AbortSignal;
  onToken?: TokenListener;
  debug?: (message: string) => void;
}

export interface ImagesAnswer {
  result: GroundingResult;
  /** The regions as the model wrote them (0..1000 of what it saw), for drawing them (renderAnnotated). */
  regions: Region[];
  stats: ChatStats;
}

export async function answerAboutImages(engine: Engine, images: readonly ImageToAnswer[], prompt: string, options: AnswerOptions): Promise<ImagesAnswer> {
  const last = images.at(-1);
  if (!last) throw new Error('answerAboutImages needs at least one image.');
  const outcome = await engine.chat(
    [{ role: 'user', text: prompt, images: images.map((i) => ({ path: i.modelPath })) }],
    { maxTokens: options.maxTokens, temperature: 0 },
    options.onToken ?? (() => undefined),
    options.signal,
  );
  const regions = parseRegions(outcome.text, options.debug);
  const transform = last.transform;
  // Upright (EXIF-applied) size of the whole image: the pixels the regions are given in.
  const { width, height } = uprightSize(transform.stored, transform.orientation);
  return {
    result: {
      schema: GROUNDING_SCHEMA,
      image: { ...(last.path !== undefined ? { path: last.path } : {}), width, height, devicePixelRatio: transform.devicePixelRatio },
      answer: outcome.text,
      regions: regions.map((r) => toPublicRegion(transform, r)),
    },
    regions,
    stats: outcome.stats,
  };
}

/** A zoom-in second look after a locate (src/images/refine.ts), when `mode` says so for the last image. */
export interface RefineOptions {
  mode: RefineMode;
  /** The file the last image's prepared copy was made from: the windows are cut from it. */
  imagePath: string;
  maxTiles: number;
  /** Where the windows' model-sized copies go, named after `key`. */
  outDir: string;
  key: string;
  /** Called as the second look starts (progress). */
  onRefine?: () => void;
}

export interface LocatedAnswer extends ImagesAnswer {
  /** The second look, when there was one (its cost, the first pass's regions): also in result.refinement. */
  refinement: RefineOutcome | null;
}

/**
 * answerAboutImages, then the zoom-in refine over the last image when `refine.mode` asks for it
 * and the first pass found something: the one locate path of internvlLens.ground, the CLI's
 * `ground` (and so MCP `locate`) and the lens_locate tool. `regions` are then the best ones
 * (refined where the second look found them).
 */
export async function locateInImages(engine: Engine, images: readonly ImageToAnswer[], prompt: string, options: AnswerOptions & { refine: RefineOptions }): Promise<LocatedAnswer> {
  const first = await answerAboutImages(engine, images, prompt, options);
  const last = images.at(-1)!;
  if (first.regions.length === 0 || first.stats.interrupted || !shouldRefine(options.refine.mode, last.transform)) return { ...first, refinement: null };
  const { imagePath, maxTiles, outDir, key } = options.refine;
  options.refine.onRefine?.();
  const refinement = await refineRegions({ engine, imagePath, transform: last.transform, regions: first.regions, prompt, maxTiles, maxTokens: options.maxTokens, outDir, key, ...(options.signal ? { signal: options.signal } : {}) });
  return {
    result: refinedGroundingResult(last.transform, first.result.answer, first.regions, refinement, last.path),
    regions: bestRegions(first.regions, refinement.refined),
    stats: first.stats,
    refinement,
  };
}

/** `s` on one line in quotes, cut to `max` characters: how a sentence for an agent quotes text. */
export function quote(s: string, max = 80): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return `"${t.length > max ? `${t.slice(0, max - 1)}…` : t}"`;
}

/** One sentence for an agent (and the people reading its log) about a grounding result; `target`: what was looked for (null: a question). */
/** Where a region is, as a sentence for an agent says it: `at box [x1, y1, x2, y2]`, `at quad […]`, `at point [x, y]`. */
export function placeOf(r: PublicRegion): string {
  return r.kind === 'box' ? `at box [${r.box.join(', ')}]` : r.kind === 'quad' ? `at quad [${r.quad.join(', ')}]` : `at point [${r.point.join(', ')}]`;
}

export function summariseResult(result: GroundingResult, target: string | null): string {
  const name = result.image.path?.split(/[\\/]/).pop() || 'the image';
  const where = `${name} (${result.image.width}×${result.image.height} px)`;
  const places = result.regions.map((r) => `${r.label ? `${r.label} ` : ''}${placeOf(r)}`).join('; ');
  const count = `${result.regions.length} region${result.regions.length === 1 ? '' : 's'}`;
  if (target !== null) {
    return result.regions.length === 0
      ? `Found nothing for ${quote(target)} in ${where}; the model answered ${quote(result.answer, 200)}.`
      : `Found ${count} for ${quote(target)} in ${where}: ${places} (original pixels, origin top left).`;
  }
  return `Answered about ${where}${result.regions.length ? ` with ${count}: ${places} (original pixels)` : ''}: ${quote(result.answer, 2000)}.`;
}
