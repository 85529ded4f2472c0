// Videos (MP4, WebM, MOV, MKV) through ffmpeg: found at internvlLens.ffmpegPath or on PATH, never
// bundled. ffprobe lists the video stream's packets (demuxing only, no decoding) so a frame's index
// is what decord's is; each chosen frame is then decoded by its own seek. Every run is bounded in
// output bytes and time, and killed when the caller stops.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { CaptureError } from '../capture/errors';
import { Settings } from '../config';
import { findOnPath } from '../engine/local/runtimes/choose';
import { readRegularFile } from '../files';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** How to install ffmpeg (ffprobe comes with it) on `platform`, in one sentence. */
export function ffmpegInstallAdvice(platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return 'Install it with `brew install ffmpeg`';
    case 'win32':
      return 'Install it with `winget install Gyan.FFmpeg` (then restart VS Code)';
    default:
      return 'Install it with `sudo apt install ffmpeg` (Debian, Ubuntu) or `sudo dnf install ffmpeg` (Fedora)';
  }
}

function noFfmpeg(detail: string, platform: NodeJS.Platform): CaptureError {
  return new CaptureError(
    `Reading videos needs ffmpeg and ffprobe; ${detail}. ${ffmpegInstallAdvice(platform)}, or set ${Settings.ffmpegPath} to your ffmpeg. GIF, animated WebP and APNG work without it.`,
    'no-tool',
    [{ kind: 'openSetting', setting: Settings.ffmpegPath }],
  );
}

async function isExecutable(path: string, platform: NodeJS.Platform): Promise<boolean> {
  const s = await stat(path).catch(() => null);
  if (!s?.isFile()) return false;
  return platform === 'win32' || (await access(path, constants.X_OK).then(() => true, () => false));
}

/** ffmpeg from the setting (ffprobe beside it) or from PATH; a CaptureError saying how to install it otherwise. */
export async function findFfmpeg(setting: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<FfmpegTools> {
  if (setting) {
    if (!(await isExecutable(setting, platform))) throw noFfmpeg(`${Settings.ffmpegPath} is ${setting}, which is not an executable file`, platform);
    const ext = platform === 'win32' ? extname(setting) || '.exe' : '';
    const beside = join(dirname(setting), `${basename(setting, extname(setting)).replace(/ffmpeg/i, 'ffprobe')}${ext}`);
    const ffprobe = (await isExecutable(beside, platform)) ? beside : await findOnPath(env, platform, 'ffprobe');
    if (!ffprobe) throw noFfmpeg(`no ffprobe is beside ${setting} or on PATH`, platform);
    return { ffmpeg: setting, ffprobe };
  }
  const ffmpeg = await findOnPath(env, platform, 'ffmpeg');
  const ffprobe = await findOnPath(env, platform, 'ffprobe');
  if (!ffmpeg || !ffprobe) throw noFfmpeg(`${ffmpeg ? 'ffprobe' : 'ffmpeg'} is not on PATH`, platform);
  return { ffmpeg, ffprobe };
}

interface RunLimits {
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs a tool, its stdout bounded by `maxBytes` and its run by `timeoutMs` (then killed). */
function runTool(file: string, args: string[], what: string, limits: RunLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { encoding: 'buffer', maxBuffer: limits.maxBytes, timeout: limits.timeoutMs, killSignal: 'SIGKILL', windowsHide: true, ...(limits.signal ? { signal: limits.signal } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (limits.signal?.aborted) return reject(new CaptureError(`Reading ${what} was stopped.`, 'failed'));
        if (e.code === 'ENOENT') return reject(noFfmpeg(`${file} cannot be run`, process.platform));
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new CaptureError(`${what} gave more than ${Math.round(limits.maxBytes / 1024 / 1024)} MB; it is refused.`, 'too-large'));
        if (e.killed) return reject(new CaptureError(`${what} took longer than ${Math.round(limits.timeoutMs / 1000)} s; it was stopped.`, 'failed'));
        const last = stderr.toString('utf8').trim().split('\n').slice(-2).join(' ').slice(0, 300);
        reject(new CaptureError(`${what} failed${last ? `: ${last}` : ''}.`, 'failed'));
      },
    );
  });
}

export interface VideoInfo {
  width: number;
  height: number;
  /** The stream's average frame rate (decord's get_avg_fps). */
  fps: number;
  /** Each frame's presentation time in seconds, in display order (absolute, as the file stores it). */
  times: number[];
  /** The file's start time, which ffmpeg's -ss counts from. */
  startTime: number;
}

/** The most frames a video may have (an hour at 240 fps): the packet list stays a few MB. */
export const MAX_VIDEO_FRAMES = 864_000;

function rate(text: unknown): number {
  if (typeof text !== 'string') return NaN;
  const [n, d] = text.split('/').map(Number);
  return d === undefined ? Number(n) : n! / d;
}

/** The `key=value|…` fields of one line of ffprobe's compact output. */
function fields(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of line.split('|').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** The video stream's size, rate and every frame's time: one ffprobe run, packets listed, none decoded. */
export async function probeVideo(tools: FfmpegTools, path: string, signal?: AbortSignal): Promise<VideoInfo> {
  const name = basename(path);
  const out = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate:format=start_time:packet=pts_time,flags', '-of', 'compact', path],
    `ffprobe of ${name}`,
    { maxBytes: 64 * 1024 * 1024, timeoutMs: 60_000, signal },
  );
  const times: number[] = [];
  let stream: Map<string, string> | null = null;
  let format: Map<string, string> | null = null;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('packet|')) {
      const f = fields(line);
      const pts = f.get('pts_time');
      // D: a packet the demuxer discards (before an MP4 edit list's start); never shown.
      if (!pts || pts === 'N/A' || (f.get('flags') ?? '').includes('D')) continue;
      const t = Number(pts);
      if (Number.isFinite(t)) times.push(t);
      if (times.length > MAX_VIDEO_FRAMES) throw new CaptureError(`${name} has more than ${MAX_VIDEO_FRAMES} frames; cut it shorter first.`, 'too-large');
    } else if (line.startsWith('stream|')) stream ??= fields(line);
    else if (line.startsWith('format|')) format ??= fields(line);
  }
  const width = Number(stream?.get('width'));
  const height = Number(stream?.get('height'));
  if (!stream || !(width > 0 && height > 0)) throw new CaptureError(`${name} has no video stream ffmpeg can read.`, 'unavailable');
  if (times.length === 0) throw new CaptureError(`${name} has no video frames ffmpeg can read.`, 'unavailable');
  times.sort((a, b) => a - b);
  const span = times.length > 1 ? times.at(-1)! - times[0]! : 0;
  let fps = rate(stream.get('avg_frame_rate'));
  if (!(fps > 0 && fps < 1000)) fps = rate(stream.get('r_frame_rate'));
  if (!(fps > 0 && fps < 1000)) fps = span > 0 ? (times.length - 1) / span : 1;
  const startTime = Number(format?.get('start_time'));
  return { width, height, fps, times, startTime: Number.isFinite(startTime) ? startTime : 0 };
}

/**
 * Where to seek for frame `index`: halfway between it and the frame before, so that an accurate
 * seek (ffmpeg's default when decoding) drops every earlier frame and keeps this one, however the
 * container rounds its timestamps. Relative to the file's start, as -ss counts.
 */
export function seekSeconds(info: VideoInfo, index: number): number {
  const t = info.times[index]!;
  const before = index > 0 ? info.times[index - 1]! : t;
  return Math.max(0, (before + t) / 2 - info.startTime);
}

/** Frames one ffmpeg run decodes (one input, one seek and one decoder each). */
const FRAMES_PER_RUN = 8;

/**
 * The frames at `indices` as PNGs of `size`: one ffmpeg run per FRAMES_PER_RUN frames, each frame
 * an input of its own with its own seek (decoding from the key frame before it, one frame out),
 * written to `workDir` and read back bounded.
 */
export async function extractFrames(tools: FfmpegTools, path: string, info: VideoInfo, indices: number[], size: { width: number; height: number }, workDir: string, signal?: AbortSignal): Promise<Buffer[]> {
  const name = basename(path);
  const maxBytes = size.width * size.height * 4 + 1024 * 1024;
  await mkdir(workDir, { recursive: true });
  const pngs: Buffer[] = [];
  try {
    for (let from = 0; from < indices.length; from += FRAMES_PER_RUN) {
      const batch = indices.slice(from, from + FRAMES_PER_RUN);
      const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
      for (const index of batch) {
        // Floored to microseconds (ffmpeg's time base), so the seek never passes the frame.
        args.push('-ss', (Math.floor(seekSeconds(info, index) * 1e6) / 1e6).toFixed(6), '-i', path);
      }
      const outputs = batch.map((_, i) => join(workDir, `frame-${from + i}.png`));
      for (const [i, out] of outputs.entries()) {
        args.push('-map', `${i}:v:0`, '-frames:v', '1', '-vf', `scale=${size.width}:${size.height}:flags=bilinear`, '-c:v', 'png', out);
      }
      await runTool(tools.ffmpeg, args, `ffmpeg reading ${batch.length} frames of ${name}`, { maxBytes: 1024 * 1024, timeoutMs: 60_000, signal });
      for (const [i, out] of outputs.entries()) {
        const png = await readRegularFile(out, maxBytes, `frame ${batch[i]} of ${name}`).catch(() => Buffer.alloc(0));
        if (png.length === 0) throw new CaptureError(`ffmpeg found no frame ${batch[i]} in ${name}.`, 'failed');
        pngs.push(png);
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return pngs;
}
