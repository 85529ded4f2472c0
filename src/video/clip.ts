// A clip's frames as the model sees them: which frames (sampling.ts, InternVL's get_index over the
// clip's frame count and average rate), each decoded once as a PNG no larger than DISPLAY_LONG_SIDE
// (shown in the chat's strip; the model's 448×448 copy is made from it with maxTiles 1). Videos go
// through ffmpeg (ffmpeg.ts); GIF and animated WebP through sharp; APNG through apng.ts.
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CaptureError } from '../capture/errors';
import { hasExtension, VIDEO_EXTENSIONS } from '../images/formats';
import { loadSharp } from '../images';
import { MAX_DECODE_PIXELS } from '../images/probe';
import { MAX_ATTACHMENT_BYTES } from '../protocol/webview';
import { openRegularFile, readRegularFile } from '../files';
import { apngFrames, isApng, isApngAt } from './apng';
import { extractFrames, ffmpegCanDrop, findFfmpeg, probeVideo } from './ffmpeg';
import { DEFAULT_FRAME_COUNT, frameCountProblem, frameIndices } from './sampling';

/** The long side of a stored frame, in pixels: enough to look at it large, small enough to keep eight. */
export const DISPLAY_LONG_SIDE = 1024;
/** The largest video file taken (its frames are read by seeking, never loaded whole). */
export const MAX_VIDEO_FILE_BYTES = 8 * 1024 * 1024 * 1024;
/** The most frames an animated image may have. */
export const MAX_ANIMATION_FRAMES = 10_000;

export interface ClipFrame {
  /** 1-based, as the prompt names it (`Frame3:`). */
  number: number;
  /** The frame's index in the clip (get_index's). */
  index: number;
  /** Seconds from the clip's first frame. */
  seconds: number;
  png: Buffer;
  width: number;
  height: number;
}

export interface SampledClip {
  name: string;
  source: 'ffmpeg' | 'sharp' | 'apng' | 'recording';
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  /** Seconds from the first frame to the end of the last. */
  duration: number;
  /** The bound asked for, in seconds; null: the whole clip. */
  bound: [number, number] | null;
  frames: ClipFrame[];
}

export interface SampleOptions {
  /** How many frames (num_segments); DEFAULT_FRAME_COUNT when not given. */
  frames?: number;
  /** Seconds; either may be left out (the clip's start, its end). */
  start?: number | null;
  end?: number | null;
  /** internvlLens.ffmpegPath ('' looks on PATH). */
  ffmpegPath: string;
  signal?: AbortSignal;
}

/** The size a frame is stored at: the clip's aspect, the long side at most DISPLAY_LONG_SIDE. */
export function displaySize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, DISPLAY_LONG_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The bound get_index is given: [start, end] in seconds when either is set, checked. */
export function clipBound(start: number | null | undefined, end: number | null | undefined, duration: number): [number, number] | null {
  if ((start === null || start === undefined) && (end === null || end === undefined)) return null;
  const s = start ?? 0;
  const e = end ?? duration;
  if (s >= duration) throw new CaptureError(`The clip is ${duration.toFixed(2)} s long; a start at ${s} s is past its end.`, 'failed');
  if (!Number.isFinite(s) || !Number.isFinite(e) || s < 0 || e <= s) throw new CaptureError(`The part of the clip asked for (${s} s to ${e} s) is empty: the start must be 0 or more and before the end.`, 'failed');
  return [s, e];
}

/** Times (seconds from the first frame) of each frame, from each frame's delay in milliseconds. */
function startTimes(delaysMs: number[]): number[] {
  const times: number[] = [];
  let t = 0;
  for (const d of delaysMs) {
    times.push(t / 1000);
    t += d;
  }
  return times;
}

/** A GIF's or WebP's delay as browsers play it: under 20 ms (0 included) is 100 ms. */
function playedDelay(ms: number | undefined): number {
  return ms === undefined || !Number.isFinite(ms) || ms < 20 ? 100 : ms;
}

function checkCount(frames: number): void {
  const problem = frameCountProblem(frames);
  if (problem) throw new CaptureError(`${problem[0]!.toUpperCase()}${problem.slice(1)}.`, 'failed');
}

/**
 * Whether an image file moves (an APNG, an animated WebP or GIF of more than one frame), told
 * from its headers: a PNG's chunk headers up to its image data, a WebP's VP8X flags (8 and 32
 * bytes read, however big the file); only a GIF, or a WebP flagged animated, has its frames
 * counted, by sharp from the file. Anything that is not a regular file of at most
 * MAX_ATTACHMENT_BYTES does not move (reading it as a clip would refuse it).
 */
export async function imageMoves(path: string): Promise<boolean> {
  const opened = await openRegularFile(path, MAX_ATTACHMENT_BYTES).catch(() => null);
  if (!opened) return false;
  const { handle, size } = opened;
  const read = async (offset: number, length: number) => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  try {
    const head = await read(0, 32);
    const webp = head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP';
    if (webp && (head.toString('latin1', 12, 16) !== 'VP8X' || (head[20]! & 0x02) === 0)) return false;
    if (webp || /^GIF8[79]a$/.test(head.toString('latin1', 0, 6))) {
      const meta = await (await loadSharp())(path, { animated: true, limitInputPixels: MAX_DECODE_PIXELS }).metadata().catch(() => null);
      return (meta?.pages ?? 1) > 1;
    }
    return await isApngAt(read, size);
  } finally {
    await handle.close();
  }
}

/** The chosen frames of a video, an animated GIF/WebP or an APNG. */
export async function sampleClip(path: string, options: SampleOptions): Promise<SampledClip> {
  const count = options.frames ?? DEFAULT_FRAME_COUNT;
  checkCount(count);
  const name = basename(path);
  const s = await stat(path).catch(() => null);
  if (!s?.isFile()) throw new CaptureError(`${name} is not a file that can be read.`, 'unavailable');
  if (hasExtension(path, VIDEO_EXTENSIONS)) {
    if (s.size > MAX_VIDEO_FILE_BYTES) throw new CaptureError(`${name} is over ${MAX_VIDEO_FILE_BYTES / 1024 ** 3} GB; cut it shorter first.`, 'too-large');
    return sampleVideo(path, count, options);
  }
  const bytes = await readRegularFile(path, MAX_ATTACHMENT_BYTES, name);
  if (await isApng(bytes)) return sampleApng(bytes, name, count, options);
  return sampleAnimation(bytes, name, count, options);
}

async function sampleVideo(path: string, count: number, options: SampleOptions): Promise<SampledClip> {
  const tools = await findFfmpeg(options.ffmpegPath);
  // Asked while ffprobe lists the packets (once per ffmpeg; extractFrames waits for the answer).
  void ffmpegCanDrop(tools);
  const info = await probeVideo(tools, path, options.signal);
  const first = info.times[0]!;
  const frameCount = info.times.length;
  const duration = frameCount / info.fps;
  const bound = clipBound(options.start, options.end, duration);
  const indices = frameIndices({ bound, fps: info.fps, maxFrame: frameCount - 1, numSegments: count });
  const size = displaySize(info.width, info.height);
  const clamped = indices.map((i) => Math.min(Math.max(i, 0), frameCount - 1));
  const workDir = join(tmpdir(), `internvl-lens-frames-${process.pid}-${randomUUID()}`);
  const pngs = await extractFrames(tools, path, info, clamped, size, workDir, options.signal);
  const frames = clamped.map((index, i) => ({ number: i + 1, index, seconds: info.times[index]! - first, png: pngs[i]!, ...size }));
  return { name: basename(path), source: 'ffmpeg', width: info.width, height: info.height, fps: info.fps, frameCount, duration, bound, frames };
}

async function sampleAnimation(bytes: Buffer, name: string, count: number, options: SampleOptions): Promise<SampledClip> {
  const sharp = await loadSharp();
  let meta;
  try {
    meta = await sharp(bytes, { animated: true, limitInputPixels: MAX_DECODE_PIXELS }).metadata();
  } catch (err) {
    throw new CaptureError(`${name} cannot be decoded as an image (${(err as Error).message}).`, 'unavailable');
  }
  const pages = meta.pages ?? 1;
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new CaptureError(`${name} has no pixel size.`, 'unavailable');
  if (pages > MAX_ANIMATION_FRAMES) throw new CaptureError(`${name} has ${pages} frames; more than ${MAX_ANIMATION_FRAMES} are refused.`, 'too-large');
  const delays = Array.from({ length: pages }, (_, i) => playedDelay(meta.delay?.[i]));
  const total = delays.reduce((a, b) => a + b, 0) / 1000;
  const fps = pages / total;
  const times = startTimes(delays);
  const bound = clipBound(options.start, options.end, total);
  const indices = frameIndices({ bound, fps, maxFrame: pages - 1, numSegments: count }).map((i) => Math.min(Math.max(i, 0), pages - 1));
  const size = displaySize(width, height);
  const frames: ClipFrame[] = [];
  for (const [i, index] of indices.entries()) {
    options.signal?.throwIfAborted();
    const png = await sharp(bytes, { page: index, pages: 1, limitInputPixels: MAX_DECODE_PIXELS }).resize(size.width, size.height, { fit: 'fill' }).png().toBuffer();
    frames.push({ number: i + 1, index, seconds: times[index]!, png, ...size });
  }
  return { name, source: 'sharp', width, height, fps, frameCount: pages, duration: total, bound, frames };
}

async function sampleApng(bytes: Buffer, name: string, count: number, options: SampleOptions): Promise<SampledClip> {
  const sharp = await loadSharp();
  const animation = apngFrames(bytes, name);
  const pages = animation.frames.length;
  const delays = animation.frames.map((f) => playedDelay(f.delayMs));
  const total = delays.reduce((a, b) => a + b, 0) / 1000;
  const fps = pages / total;
  const times = startTimes(delays);
  const bound = clipBound(options.start, options.end, total);
  const indices = frameIndices({ bound, fps, maxFrame: pages - 1, numSegments: count }).map((i) => Math.min(Math.max(i, 0), pages - 1));
  const size = displaySize(animation.width, animation.height);
  const wanted = new Set(indices);
  const shown = new Map<number, Buffer>();
  await animation.compose(async (index, rgba) => {
    options.signal?.throwIfAborted();
    if (!wanted.has(index)) return;
    shown.set(index, await sharp(rgba, { raw: { width: animation.width, height: animation.height, channels: 4 } }).resize(size.width, size.height, { fit: 'fill' }).png().toBuffer());
  }, Math.max(...indices));
  const frames = indices.map((index, i) => ({ number: i + 1, index, seconds: times[index]!, png: shown.get(index)!, ...size }));
  return { name, source: 'apng', width: animation.width, height: animation.height, fps, frameCount: pages, duration: total, bound, frames };
}
