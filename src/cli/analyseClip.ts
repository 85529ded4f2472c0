// One clip, one question, one answer: what `ask --video` and the MCP server's ask_image (given a
// video or an animated image) do. Frames are chosen as InternVL's get_index does (src/video/), the
// cost is checked against the context before anything is sent, and each region says its frame.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ChatStats, Engine, TokenListener } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { parseRegions } from '../grounding';
import { placeOf, quote } from '../grounding/answer';
import { prepareForModel, toPublicRegion, type PreparedImage } from '../images';
import { hasExtension, MOVING_EXTENSIONS } from '../images/formats';
import { GROUNDING_SCHEMA, type PublicRegion } from '../protocol/grounding';
import { Settings } from '../config';
import { imageMoves, sampleClip, type SampledClip } from '../video/clip';
import { regionFrames } from '../video/regions';
import { budgetRefusal, DEFAULT_FRAME_COUNT, frameBudget, frameTokens } from '../video/sampling';
import { fileExists, writeFileAtomic } from '../files';
import { MODEL_COPIES } from './analyseImage';

/** A region on one frame: in the clip's own pixels (as the video is), with the frame it is on. */
export type ClipRegion = PublicRegion & { frame: number };

/**
 * The public grounding result (schemas/grounding-result.v1.json: `image` is the clip's frame size,
 * each region adds its `frame`) plus the clip: which frames, their times, what they cost.
 */
export interface ClipAnswer {
  schema: typeof GROUNDING_SCHEMA;
  command: 'ask';
  image: { path: string; width: number; height: number; devicePixelRatio: 1 };
  clip: { path: string; name: string; width: number; height: number; fps: number; frameCount: number; duration: number; bound: [number, number] | null };
  frames: { number: number; index: number; seconds: number }[];
  /** What the frames cost in context tokens (N·256 + 2N), known before sending. */
  frameTokens: number;
  question: string;
  answer: string;
  regions: ClipRegion[];
  stats: ChatStats;
}

export interface ClipRequest {
  path: string;
  text: string;
  frames?: number;
  start?: number | null;
  end?: number | null;
  maxTokens: number;
  /** The local engine's context size (the budget is checked against it); null: a remote server decides. */
  contextSize: number | null;
  ffmpegPath: string;
  signal?: AbortSignal;
  onStage?: (stage: 'reading' | 'asking' | 'answering') => void;
  onToken?: TokenListener;
  /** How the refusal names a smaller frame count (`--frames 5`, `frames: 5`). */
  fewerFrames?: (n: number) => string;
}


/** Whether `path` is asked about as a clip: a video, or an animated image (a GIF, WebP or APNG of more than one frame is one). */
export async function isClipPath(path: string): Promise<boolean> {
  if (hasExtension(path, ['mp4', 'webm', 'mov', 'mkv', 'apng'])) return true;
  return hasExtension(path, MOVING_EXTENSIONS) && (await imageMoves(path));
}

export async function analyseClip(engine: Engine, request: ClipRequest): Promise<ClipAnswer> {
  const path = resolve(request.path);
  const count = request.frames ?? DEFAULT_FRAME_COUNT;
  if (request.contextSize !== null) {
    const budget = frameBudget(count, request.text, request.maxTokens, request.contextSize);
    if (!budget.fits) throw new EngineError('context-overflow', budgetRefusal(path, budget, request.fewerFrames ?? ((n) => `Ask with ${n} frames.`)), Settings.contextSize);
  }
  request.onStage?.('reading');
  const clip: SampledClip = await sampleClip(path, { frames: count, start: request.start ?? null, end: request.end ?? null, ffmpegPath: request.ffmpegPath, ...(request.signal ? { signal: request.signal } : {}) });
  const prepared: PreparedImage[] = [];
  await mkdir(MODEL_COPIES, { recursive: true });
  for (const f of clip.frames) {
    const key = createHash('sha256').update(f.png).digest('hex').slice(0, 32);
    const file = join(MODEL_COPIES, `${key}.frame.png`);
    if (!(await fileExists(file))) await writeFileAtomic(file, f.png);
    prepared.push(await prepareForModel(file, { outDir: MODEL_COPIES, key, maxTiles: 1 }));
  }
  request.onStage?.('asking');
  let first = true;
  const outcome = await engine.chat(
    [{ role: 'user', text: request.text, images: prepared.map((p) => ({ path: p.modelPath })), frames: true }],
    { maxTokens: request.maxTokens, temperature: 0 },
    (text, tokens) => {
      if (first) {
        first = false;
        request.onStage?.('answering');
      }
      request.onToken?.(text, tokens);
    },
    request.signal,
  );
  const regions = parseRegions(outcome.text);
  const frames = regionFrames(outcome.text, clip.frames.length);
  const toClipPixels = (r: PublicRegion): PublicRegion => {
    const px = (n: number, max: number) => Math.min(max, Math.max(0, Math.round(n * max)));
    if (r.kind === 'box') return { ...r, box: [px(r.normalized[0], clip.width), px(r.normalized[1], clip.height), px(r.normalized[2], clip.width), px(r.normalized[3], clip.height)] };
    if (r.kind === 'quad') return { ...r, quad: r.normalized.map((n, k) => px(n, k % 2 ? clip.height : clip.width)) as typeof r.quad };
    return { ...r, point: [px(r.normalized[0], clip.width), px(r.normalized[1], clip.height)] };
  };
  return {
    schema: GROUNDING_SCHEMA,
    command: 'ask',
    image: { path, width: clip.width, height: clip.height, devicePixelRatio: 1 },
    clip: { path, name: clip.name, width: clip.width, height: clip.height, fps: clip.fps, frameCount: clip.frameCount, duration: clip.duration, bound: clip.bound },
    frames: clip.frames.map((f) => ({ number: f.number, index: f.index, seconds: f.seconds })),
    frameTokens: frameTokens(clip.frames.length),
    question: request.text,
    answer: outcome.text,
    regions: regions.map((r, i) => ({ ...toClipPixels(toPublicRegion(prepared[frames[i]! - 1]!.transform, r)), frame: frames[i]! })),
    stats: outcome.stats,
  };
}

/** One sentence about a clip's answer, for an agent (MCP ask_image, lens_ask): the frames, their cost, where each region is. */
export function summariseClip(result: ClipAnswer): string {
  const frames = result.frames.map((f) => `Frame${f.number} = frame ${f.index} at ${f.seconds.toFixed(2)} s`).join(', ');
  const places = result.regions
    .map((r) => `${r.label ? `${r.label} ` : ''}on Frame${r.frame} ${placeOf(r)}`)
    .join('; ');
  return `Answered about ${result.clip.name} (${result.image.width}×${result.image.height} px, ${result.clip.duration.toFixed(2)} s, ${result.frames.length} frames: ${frames}; ${result.frameTokens} image tokens)${places ? ` with ${places} (the clip's pixels)` : ''}: ${quote(result.answer, 2000)}.`;
}
