// Which frames of a clip the model sees, and what they cost: a port of InternVL's `get_index` (the
// InternVL3 model card's video example) and its one-tile-per-frame budget. No I/O here.
import { IMAGE_MARKER_TOKENS, TOKENS_PER_TILE } from '../images/tiling';

/** The model card's `load_video(..., num_segments=8, max_num=1)`. */
export const DEFAULT_FRAME_COUNT = 8;
/** The most frames one question may carry (32 frames: 8 256 tokens). */
export const MAX_FRAME_COUNT = 32;

/** Python's `round` (and numpy's `np.round`): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface FrameIndexOptions {
  /** `[start, end]` in seconds; null: the whole clip. */
  bound: readonly [number, number] | null;
  fps: number;
  /** The last frame's index (`len(vr) - 1`). */
  maxFrame: number;
  firstIdx?: number;
  numSegments?: number;
}

/**
 * `get_index(bound, fps, max_frame, first_idx=0, num_segments)`: `num_segments` frames at the
 * midpoints of equal segments of [start, end], in frames.
 */
export function frameIndices(options: FrameIndexOptions): number[] {
  const { fps, maxFrame } = options;
  const firstIdx = options.firstIdx ?? 0;
  const numSegments = options.numSegments ?? DEFAULT_FRAME_COUNT;
  const [start, end] = options.bound ?? [-100000, 100000];
  const startIdx = Math.max(firstIdx, roundHalfEven(start * fps));
  const endIdx = Math.min(roundHalfEven(end * fps), maxFrame);
  const segSize = (endIdx - startIdx) / numSegments;
  const indices: number[] = [];
  // Python's int() truncates towards zero.
  for (let idx = 0; idx < numSegments; idx++) indices.push(Math.trunc(startIdx + segSize / 2 + roundHalfEven(segSize * idx)));
  return indices;
}

/** Context tokens `frames` frames cost: one 448-px tile each (256 tokens) plus its `<img>`/`</img>`. */
export function frameTokens(frames: number): number {
  return frames * (TOKENS_PER_TILE + IMAGE_MARKER_TOKENS);
}

/**
 * Tokens a turn needs beside its frames: the chat template, the `FrameN: ` labels and the question
 * (rounded up generously: about 3 characters a token, never under 64).
 */
export function textTokensEstimate(question: string, frames: number): number {
  return 64 + frames * 6 + Math.ceil(question.length / 3);
}

export interface FrameBudget {
  frames: number;
  /** What the frames cost (frameTokens). */
  frameTokens: number;
  /** Frames, question and the longest answer, in tokens. */
  needed: number;
  contextSize: number;
  fits: boolean;
  /** The most frames that fit beside the question and answer (0: none). */
  mostFrames: number;
}

/** Whether `frames` frames, the question and an answer of `maxTokens` fit a context of `contextSize`. */
export function frameBudget(frames: number, question: string, maxTokens: number, contextSize: number): FrameBudget {
  const needed = (n: number) => frameTokens(n) + textTokensEstimate(question, n) + maxTokens;
  let most = 0;
  while (most < MAX_FRAME_COUNT && needed(most + 1) <= contextSize) most++;
  return { frames, frameTokens: frameTokens(frames), needed: needed(frames), contextSize, fits: needed(frames) <= contextSize, mostFrames: most };
}

/** The frame count as a flag or setting gives it: a whole number from 1 to MAX_FRAME_COUNT, or why not. */
export function frameCountProblem(n: number): string | null {
  return Number.isInteger(n) && n >= 1 && n <= MAX_FRAME_COUNT ? null : `the number of frames must be a whole number from 1 to ${MAX_FRAME_COUNT}, got ${n}`;
}

/** Why a clip is refused before anything is sent: the numbers, and how many frames would fit. */
export function budgetRefusal(name: string, b: FrameBudget, fewerFrames: (n: number) => string): string {
  const room = `${b.frames} frames of ${name} need about ${b.needed.toLocaleString('en-US')} tokens (${b.frameTokens.toLocaleString('en-US')} for the frames at ${frameTokens(1)} each, the rest for the question and the answer); the context holds ${b.contextSize.toLocaleString('en-US')}.`;
  return b.mostFrames > 0 ? `${room} ${fewerFrames(b.mostFrames)}` : `${room} Not one frame fits beside the answer: raise the context size or lower the answer's most tokens.`;
}

/** The frame counts Explain this video (choose frames)… offers beside the default. */
export const FEWER_FRAME_CHOICES = [2, 4, 6] as const;
export const MORE_FRAME_CHOICES = [12, 16, 24, MAX_FRAME_COUNT] as const;

/** `8 frames (2,064 tokens)`. */
export function frameCountLabel(n: number): string {
  return `${n} frame${n === 1 ? '' : 's'} (${frameTokens(n).toLocaleString('en-US')} tokens)`;
}

/** A time as typed: seconds (`12.5`), `m:ss` or `h:mm:ss`; NaN when not one. */
function typedSeconds(text: string): number {
  const parts = text.trim().split(':');
  if (parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return Number.NaN;
  return parts.reduce((total, p) => total * 60 + Number(p), 0);
}

/**
 * The part of a clip typed as `from-to` in seconds or m:ss (`5-20`, `1:05–1:30`, `5 to 20`); either
 * side may be left out (`-20`: from the start, `30-`: to the end). Null when it is not one, or when
 * the start is not before the end.
 */
export function parseTimeRange(text: string): { start: number | null; end: number | null } | null {
  const m = /^\s*([\d.:]*)\s*(?:-|–|—|\bto\b)\s*([\d.:]*)\s*$/.exec(text);
  if (!m || (!m[1] && !m[2])) return null;
  const start = m[1] ? typedSeconds(m[1]) : null;
  const end = m[2] ? typedSeconds(m[2]) : null;
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  if (start !== null && end !== null && !(start < end)) return null;
  if (end === 0) return null;
  return { start, end };
}
