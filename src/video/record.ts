// Record Screen: a monitor (or a rectangle of it) grabbed `fps` times a second for `seconds` with
// the capture code Capture Screen uses (src/capture/screen.ts), each frame kept as a PNG no larger
// than DISPLAY_LONG_SIDE, with the time it was grabbed. No ffmpeg: a recording is its frames. A
// tick that comes while the previous frame is still being written is skipped (the machine is too
// busy), never queued, so a slow machine records fewer frames at their true times.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { grabScreen, type MonitorInfo } from '../capture/screen';
import { native } from '../capture/native';
import { CaptureError } from '../capture/errors';
import { clampSelection } from '../capture/screen';
import { writeFileAtomic, readRegularFile } from '../files';
import { loadSharp } from '../images';
import type { PixelRect } from '../protocol/rect';
import { displaySize, type SampledClip } from './clip';
import { DEFAULT_FRAME_COUNT, frameIndices } from './sampling';

/** The longest recording and the highest rate Record Screen offers. */
export const MAX_RECORD_SECONDS = 600;
export const MAX_RECORD_FPS = 10;

export interface RecordOptions {
  /** The monitor (Capture Screen's ids); the primary one when not given. */
  monitorId?: number;
  /** Only this rectangle of it, in device pixels. */
  rect?: PixelRect;
  fps: number;
  seconds: number;
  /** Where the frames' PNGs go (created). */
  outDir: string;
  /** Stops the recording early (what was recorded is kept). */
  signal?: AbortSignal;
  /** After each frame is written: its number (from 1) and its time. */
  onFrame?: (count: number, seconds: number) => void;
}

export interface RecordedFrame {
  path: string;
  /** Seconds from the recording's start to this grab. */
  seconds: number;
}

export interface Recording {
  name: string;
  monitor: MonitorInfo;
  /** The recorded area's size in device pixels (the frames are stored at displaySize of it). */
  width: number;
  height: number;
  fps: number;
  /** Seconds from the start to the end (stopped or done). */
  duration: number;
  frames: RecordedFrame[];
  /** Ticks skipped because the frame before was still being written. */
  skipped: number;
}

/** Records the screen; resolves when `seconds` have passed or `signal` stopped it. */
export async function recordScreen(options: RecordOptions): Promise<Recording> {
  if (!(options.fps > 0 && options.fps <= MAX_RECORD_FPS)) throw new CaptureError(`Record Screen takes 0.1 to ${MAX_RECORD_FPS} frames a second, not ${options.fps}.`, 'failed');
  if (!(options.seconds > 0 && options.seconds <= MAX_RECORD_SECONDS)) throw new CaptureError(`Record Screen records up to ${MAX_RECORD_SECONDS} s, not ${options.seconds} s.`, 'failed');
  await mkdir(options.outDir, { recursive: true });
  const sharp = await loadSharp();
  const frames: RecordedFrame[] = [];
  let skipped = 0;
  let monitor: MonitorInfo | null = null;
  let size: { width: number; height: number } | null = null;
  const start = performance.now();
  const interval = 1000 / options.fps;
  let inFlight: Promise<void> = Promise.resolve();
  const ticks = Math.max(1, Math.round(options.seconds * options.fps));
  const grabOne = async (tick: number): Promise<void> => {
    const seconds = (performance.now() - start) / 1000;
    const shot = await grabScreen(options.monitorId);
    monitor ??= shot.monitor;
    let image = shot.image;
    if (options.rect) {
      const r = clampSelection(options.rect, image.width, image.height);
      image = await native('crop the capture', () => image.crop(r.x, r.y, r.width, r.height));
    }
    size ??= { width: image.width, height: image.height };
    const shown = displaySize(image.width, image.height);
    const raw = await native('read the captured pixels', () => image.toRaw());
    const png = await sharp(raw, { raw: { width: image.width, height: image.height, channels: 4 } })
      .removeAlpha()
      .resize(shown.width, shown.height, { kernel: 'linear' })
      .png({ compressionLevel: 1 })
      .toBuffer();
    const path = join(options.outDir, `frame-${String(tick).padStart(5, '0')}.png`);
    await writeFileAtomic(path, png);
    frames.push({ path, seconds });
    options.onFrame?.(frames.length, seconds);
  };
  await new Promise<void>((resolve, reject) => {
    let tick = 0;
    let busy = false;
    let timer: NodeJS.Timeout | null = null;
    let failed = false;
    const finish = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      options.signal?.removeEventListener('abort', finish);
      resolve();
    };
    const next = () => {
      if (failed) return;
      // Node's timers may fire a fraction of a millisecond before performance.now() says the time
      // has come (a clean-clone run recorded 2.9996 s of a 3 s recording): never take a tick early.
      const early = start + tick * interval - performance.now();
      if (early > 0 && !options.signal?.aborted) {
        timer = setTimeout(next, Math.ceil(early));
        return;
      }
      // Ticks 0 … ticks-1, at k/fps: the tick at `seconds` ends it.
      if (options.signal?.aborted || tick >= ticks) return finish();
      if (busy) skipped++;
      else {
        busy = true;
        const n = tick;
        inFlight = grabOne(n);
        inFlight.then(
          () => (busy = false),
          (err: unknown) => {
            failed = true;
            if (timer) clearTimeout(timer);
            options.signal?.removeEventListener('abort', finish);
            reject(err as Error);
          },
        );
      }
      tick++;
      // The next tick at its own time from the start, however long this one took.
      timer = setTimeout(next, Math.max(0, start + tick * interval - performance.now()));
    };
    options.signal?.addEventListener('abort', finish, { once: true });
    next();
  });
  // The frame being written when the time was up is waited for (it was grabbed in time).
  await inFlight;
  const duration = (performance.now() - start) / 1000;
  const got = { monitor: monitor as MonitorInfo | null, size: size as { width: number; height: number } | null };
  if (frames.length === 0 || !got.monitor || !got.size) throw new CaptureError('Nothing was recorded (it was stopped before the first frame).', 'failed');
  return { name: `screen-recording-${new Date().toISOString().replace(/[:.]/g, '-')}`, monitor: got.monitor, ...got.size, fps: options.fps, duration, frames, skipped };
}

/**
 * A recording as a clip: the frames get_index picks over the recorded frames (their average rate
 * over the recording), their PNGs read back bounded.
 */
export async function clipOfRecording(recording: Recording, count = DEFAULT_FRAME_COUNT): Promise<SampledClip> {
  const n = recording.frames.length;
  const fps = n / Math.max(recording.duration, 1e-3);
  const indices = frameIndices({ bound: null, fps, maxFrame: n - 1, numSegments: count }).map((i) => Math.min(Math.max(i, 0), n - 1));
  const shown = displaySize(recording.width, recording.height);
  const frames = [];
  for (const [i, index] of indices.entries()) {
    const f = recording.frames[index]!;
    frames.push({ number: i + 1, index, seconds: f.seconds, png: await readRegularFile(f.path, shown.width * shown.height * 4 + 1024 * 1024), ...shown });
  }
  return { name: recording.name, source: 'recording', width: recording.width, height: recording.height, fps, frameCount: n, duration: recording.duration, bound: null, frames };
}
