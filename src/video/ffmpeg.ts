// Videos (MP4, WebM, MOV, MKV) through ffmpeg: found at internvlLens.ffmpegPath or on PATH, never
// bundled. ffprobe lists the video stream's packets (demuxing only, no decoding) so a frame's index
// is what decord's is, and where the key frames are; the chosen frames after one key frame are then
// read by one seek and one forward decode, the groups shared among one ffmpeg run per core. In
// H.264 and HEVC (MP4, MOV) the frames no other frame refers to (read from each packet's NAL header) are
// not decoded unless asked for: a group of referenced frames has the decoder skip them
// (-skip_frame noref); a group with unreferenced frames asked for is copied from its key frame
// with the others left out, into the decoder over a pipe. The same pictures either way. Every
// run is bounded in output bytes and time, and killed when the caller stops.
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { CaptureError } from '../capture/errors';
import { Settings } from '../config';
import { findOnPath } from '../engine/local/runtimes/choose';
import { openRegularFile, readRegularFile } from '../files';

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

/** How a run of an ffmpeg tool ends badly, in words: runTool's and runPiped's one set of messages. */
const runFailure = {
  stopped: (what: string) => new CaptureError(`Reading ${what} was stopped.`, 'failed'),
  timedOut: (what: string, limits: RunLimits) => new CaptureError(`${what} took longer than ${Math.round(limits.timeoutMs / 1000)} s; it was stopped.`, 'failed'),
  notRunnable: (file: string) => noFfmpeg(`${file} cannot be run`, process.platform),
  /** Failed with `stderr`: its last two lines say why. */
  failed: (what: string, stderr: string) => {
    const last = stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
    return new CaptureError(`${what} failed${last ? `: ${last}` : ''}.`, 'failed');
  },
};

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
        if (limits.signal?.aborted) return reject(runFailure.stopped(what));
        if (e.code === 'ENOENT') return reject(runFailure.notRunnable(file));
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new CaptureError(`${what} gave more than ${Math.round(limits.maxBytes / 1024 / 1024)} MB; it is refused.`, 'too-large'));
        if (e.killed) return reject(runFailure.timedOut(what, limits));
        reject(runFailure.failed(what, stderr.toString('utf8')));
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
  /** Display indices of the key frames (packets flagged K), ascending; a seek decodes from one of them. */
  keyFrames: number[];
  /**
   * H.264 in MP4 or MOV (length-prefixed NAL units), every packet listed: where each
   * frame's packet is in the file (by display index), to read whether other frames refer to it
   * (referencedFrames), and the decode order (`decode[i]`: frame i's packet's place in the stream;
   * `display[r]`: the frame of the r-th packet).
   */
  packets?: { codec: 'h264' | 'hevc'; nalLengthSize: number; pos: number[]; size: number[]; decode: number[]; display: number[] };
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
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,codec_name,is_avc,nal_length_size:format=start_time,format_name:packet=pts_time,flags,pos,size', '-of', 'compact', path],
    `ffprobe of ${name}`,
    { maxBytes: 64 * 1024 * 1024, timeoutMs: 60_000, signal },
  );
  const packets: { t: number; pos: number; size: number; order: number }[] = [];
  const keyTimes: number[] = [];
  // A packet left out of the list below: the decode order of the others is not the stream's.
  let gaps = false;
  let stream: Map<string, string> | null = null;
  let format: Map<string, string> | null = null;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('packet|')) {
      const f = fields(line);
      const pts = f.get('pts_time');
      // D: a packet the demuxer discards (before an MP4 edit list's start); never shown.
      const t = Number(pts);
      if (!pts || pts === 'N/A' || (f.get('flags') ?? '').includes('D') || !Number.isFinite(t)) {
        gaps = true;
        continue;
      }
      packets.push({ t, pos: Number(f.get('pos')), size: Number(f.get('size')), order: packets.length });
      if ((f.get('flags') ?? '').includes('K')) keyTimes.push(t);
      if (packets.length > MAX_VIDEO_FRAMES) throw new CaptureError(`${name} has more than ${MAX_VIDEO_FRAMES} frames; cut it shorter first.`, 'too-large');
    } else if (line.startsWith('stream|')) stream ??= fields(line);
    else if (line.startsWith('format|')) format ??= fields(line);
  }
  const width = Number(stream?.get('width'));
  const height = Number(stream?.get('height'));
  if (!stream || !(width > 0 && height > 0)) throw new CaptureError(`${name} has no video stream ffmpeg can read.`, 'unavailable');
  if (packets.length === 0) throw new CaptureError(`${name} has no video frames ffmpeg can read.`, 'unavailable');
  packets.sort((a, b) => a.t - b.t);
  const times = packets.map((p) => p.t);
  const span = times.length > 1 ? times.at(-1)! - times[0]! : 0;
  let fps = rate(stream.get('avg_frame_rate'));
  if (!(fps > 0 && fps < 1000)) fps = rate(stream.get('r_frame_rate'));
  if (!(fps > 0 && fps < 1000)) fps = span > 0 ? (times.length - 1) / span : 1;
  const startTime = Number(format?.get('start_time'));
  const keyFrames = [...new Set(keyTimes.map((t) => indexOfTime(times, t)))].sort((a, b) => a - b);
  const nalLengthSize = Number(stream.get('nal_length_size'));
  // MP4 and MOV: a packet's `pos` is where its data starts (in Matroska, where its block does).
  const isoMedia = (format?.get('format_name') ?? '').split(',').includes('mov');
  const codec = stream.get('codec_name');
  // HEVC: ffprobe does not say its hvcC's length size; 4 is what encoders write, and a packet
  // whose NAL units do not read as 4-byte lengths leaves the stream decoded as it is.
  const lengths = codec === 'h264' ? (stream.get('is_avc') === 'true' ? nalLengthSize : NaN) : 4;
  const nal = !gaps && isoMedia && (codec === 'h264' || codec === 'hevc') && [1, 2, 4].includes(lengths) && packets.every((p) => Number.isSafeInteger(p.pos) && p.pos >= 0 && p.size > 0);
  const display = new Array<number>(packets.length);
  packets.forEach((p, i) => (display[p.order] = i));
  return {
    width,
    height,
    fps,
    times,
    startTime: Number.isFinite(startTime) ? startTime : 0,
    keyFrames,
    ...(nal ? { packets: { codec: codec as 'h264' | 'hevc', nalLengthSize: lengths, pos: packets.map((p) => p.pos), size: packets.map((p) => p.size), decode: packets.map((p) => p.order), display } } : {}),
  };
}

/** The most NAL units read in one packet before its first slice (access unit delimiter, SEI, parameter sets). */
const MAX_NALS_BEFORE_SLICE = 32;

/**
 * For each of the frames `indices` (display order), whether other frames may refer to it, read
 * from the NAL header of each packet's first slice in the file: in H.264, nal_ref_idc is not 0; in
 * HEVC, the type is not a sub-layer non-reference one (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N,
 * RSV_VCL_N10/12/14). Null when a packet cannot be read as length-prefixed NAL units, or an HEVC
 * slice is in a temporal sub-layer or layer above the first (a "non-reference" picture there may
 * still be referred to from higher up). ffmpeg's `-skip_frame noref` skips exactly the frames this
 * says false for.
 */
export async function referencedFrames(path: string, info: Pick<VideoInfo, 'packets'>, indices: readonly number[]): Promise<boolean[] | null> {
  const packets = info.packets;
  if (!packets || indices.some((i) => !(Number.isInteger(i) && i >= 0 && i < packets.pos.length))) return null;
  if (indices.length === 0) return [];
  const { codec, nalLengthSize: lengthSize, pos, size } = packets;
  const headerSize = codec === 'hevc' ? 2 : 1;
  const opened = await openRegularFile(path, Number.MAX_SAFE_INTEGER).catch(() => null);
  if (!opened) return null;
  const { handle } = opened;
  const buf = Buffer.alloc(lengthSize + headerSize);
  try {
    const out: boolean[] = [];
    for (const i of indices) {
      let offset = 0;
      let referenced: boolean | null = null;
      for (let nal = 0; nal < MAX_NALS_BEFORE_SLICE && referenced === null && offset + buf.length <= size[i]!; nal++) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos[i]! + offset);
        if (bytesRead < buf.length) return null;
        const length = buf.readUIntBE(0, lengthSize);
        const header = buf[lengthSize]!;
        // forbidden_zero_bit set, or a unit longer than its packet: not what we think this file is.
        if (length < headerSize || header & 0x80 || offset + lengthSize + length > size[i]!) return null;
        if (codec === 'h264') {
          const type = header & 0x1f;
          if (type === 1 || type === 5) referenced = (header & 0x60) !== 0;
        } else {
          const type = (header >> 1) & 0x3f;
          const layer = ((header & 1) << 5) | (buf[lengthSize + 1]! >> 3);
          const temporal = (buf[lengthSize + 1]! & 7) - 1;
          if (type <= 31) {
            if (layer !== 0 || temporal !== 0) return null;
            referenced = !(type <= 14 && type % 2 === 0);
          }
        }
        offset += lengthSize + length;
      }
      if (referenced === null) return null;
      out.push(referenced);
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** The index of time `t` in the ascending `times` (the first one not before it). */
function indexOfTime(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The key frame at or before display index `index` (0 when none is listed before it). */
export function keyFrameBefore(info: Pick<VideoInfo, 'keyFrames'>, index: number): number {
  const keys = info.keyFrames;
  let lo = 0;
  let hi = keys.length;
  // The first key frame after `index`: the one before it is the answer.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! <= index) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? keys[lo - 1]! : 0;
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

/**
 * Frames read by one decode: a seek to the first (decoding from the key frame before it), then on
 * through the others, all after the same key frame, so none is decoded twice.
 */
export interface FrameGroup {
  /** The key frame the decode starts from. */
  key: number;
  indices: number[];
  /** Frames decoded: from the key frame to the last frame of the group (only those sent when `dropping`). */
  cost: number;
  /**
   * H.264, the group's packets from its key frame on are copied (no decoding) and the frames no
   * other frame refers to left out, except the frames asked for, before the decoder sees them: the
   * same pictures from ~40 % less decoding. `drop`: the packets left out, by their count from the
   * key frame's packet in decode order (noise's `n`); `through`: the count of the last packet
   * sent (every later one is left out too); `seconds`: how much of the file the copy reads from
   * the key frame on, to be sure of reaching it; `picks`: each asked frame's place among the
   * decoded ones, in display order.
   */
  dropping?: { drop: number[]; through: number; seconds: number; picks: number[] };
  /**
   * H.264, every frame asked for is one other frames refer to: the decoder skips the frames none
   * refers to itself (-skip_frame noref; no copy), and `picks` are the frames' counts among the
   * frames it outputs from the first of them on.
   */
  skipping?: { picks: number[] };
}

/** The distinct `indices` grouped by the key frame before them, ascending. */
export function groupFrames(info: Pick<VideoInfo, 'keyFrames'>, indices: readonly number[]): FrameGroup[] {
  const groups = new Map<number, number[]>();
  for (const index of [...new Set(indices)].sort((a, b) => a - b)) {
    const key = keyFrameBefore(info, index);
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  }
  return [...groups].map(([key, group]) => ({ key, indices: group, cost: group.at(-1)! - key + 1 }));
}

/**
 * The least a group's left-out frames must weigh for the copy to pay: decoding costs ~1 ms a
 * 1080p frame plus ~0.1 ms a KB here, and the copy (a second ffmpeg, the NUT stream between the
 * two) costs about what decoding 512 KB does. bench/video.bench.ts's screen recording leaves out
 * ~10 KB a group (decoded directly), its testsrc2 ~1 MB (copied).
 */
const MIN_BYTES_LEFT_OUT = 512 * 1024;

/** The most packets a group reads the headers of (a key frame every 34 s at 30 fps); a longer group is decoded as it is. */
const MAX_GROUP_PACKETS = 1024;

/** The most characters of drop expressions one run's copy is given (Windows limits a command line to 32,767). */
const MAX_DROP_CHARS = 16_000;

/**
 * Each group set to leave out the frames no other frame refers to (FrameGroup.dropping), where
 * the stream allows it (length-prefixed H.264 with every packet listed, the slices' headers
 * readable, no frame decoded after the key frame shown before it: an open GOP's leading frames,
 * which a copy from the key frame would lose) and it pays (MIN_BYTES_LEFT_OUT). The others are
 * decoded as they are.
 */
export async function withDropping(path: string, info: Pick<VideoInfo, 'packets' | 'times'>, groups: FrameGroup[], minBytesLeftOut = MIN_BYTES_LEFT_OUT, canCopy = true): Promise<FrameGroup[]> {
  const packets = info.packets;
  if (!packets) return groups;
  return Promise.all(
    groups.map(async (g) => {
      const first = packets.decode[g.key]!;
      const last = Math.max(...g.indices.map((i) => packets.decode[i]!));
      if (last - first + 1 > MAX_GROUP_PACKETS || g.indices.at(-1)! - g.indices[0]! + 1 > MAX_GROUP_PACKETS) return g;
      const shown = Array.from({ length: last - first + 1 }, (_, k) => packets.display[first + k]!);
      if (shown.some((d) => d < g.key)) return g;
      const referenced = await referencedFrames(path, info, shown);
      if (!referenced) return g;
      const asked = new Set(g.indices);
      const known = new Map(shown.map((d, k) => [d, referenced[k]!]));
      if (g.indices.every((i) => known.get(i))) {
        // Counted over display order from the first frame asked for: a frame shown before the
        // last one may be decoded after it (a B-frame others refer to), and is output before it;
        // only those few headers are read again.
        const from = g.indices[0]!;
        const span = Array.from({ length: g.indices.at(-1)! - from + 1 }, (_, k) => from + k);
        const unread = span.filter((d) => !known.has(d));
        const more = await referencedFrames(path, info, unread);
        if (!more) return g;
        unread.forEach((d, k) => known.set(d, more[k]!));
        const picks = g.indices.map((i) => span.slice(0, i - from).filter((d) => known.get(d)).length);
        return { ...g, cost: referenced.filter(Boolean).length, skipping: { picks } };
      }
      const keep = shown.map((d, k) => referenced[k]! || asked.has(d));
      const left = shown.reduce((bytes, d, k) => bytes + (keep[k] ? 0 : packets.size[d]!), 0);
      if (left < minBytesLeftOut || !canCopy) return g;
      const kept = shown.filter((_, k) => keep[k]).sort((a, b) => a - b);
      // A packet's decode time is never after its display time: reading a second past the last
      // frame sent is sure to reach it, whatever the decoding delay.
      const seconds = info.times[kept.at(-1)!]! - info.times[g.key]! + 1;
      return { ...g, cost: kept.length, dropping: { drop: keep.flatMap((k, n) => (k ? [] : [n])), through: shown.length - 1, seconds, picks: g.indices.map((i) => kept.indexOf(i)) } };
    }),
  );
}

/**
 * The groups shared among at most `runs` ffmpeg runs, the longest decodes first, each to the run
 * with the least decoding so far.
 */
export function shareRuns(groups: readonly FrameGroup[], runs: number): FrameGroup[][] {
  const out: { groups: FrameGroup[]; cost: number }[] = Array.from({ length: Math.max(1, Math.min(runs, groups.length)) }, () => ({ groups: [], cost: 0 }));
  for (const g of [...groups].sort((a, b) => b.cost - a.cost)) {
    const run = out.reduce((a, b) => (b.cost < a.cost ? b : a));
    run.groups.push(g);
    run.cost += g.cost;
  }
  return out.map((r) => r.groups.sort((a, b) => a.indices[0]! - b.indices[0]!)).filter((r) => r.length > 0);
}

/** The most ffmpeg runs at once (ffmpeg 5 decodes its inputs one at a time: a run a core). */
const MAX_RUNS_AT_ONCE = 8;

/**
 * Each input's decoder options (before its -i): the cores left to each run as decoder threads (one
 * thread a run saves frame threading's overhead: 5.0 vs 6.0 CPU s for bench/video.bench.ts's 8
 * frames), and no deblocking of frames no other frame refers to (H.264, HEVC): the frame is still
 * the one asked for, its 448-px tile 65 dB PSNR from a full decode (`all` would drift along the
 * group of pictures: 44 dB), ~8 % less CPU.
 */
function decoderOptions(runs: number, cores: number): string[] {
  return ['-threads', String(Math.max(1, Math.floor(cores / runs))), '-skip_loop_filter', 'noref'];
}

/**
 * Runs `copy` (an ffmpeg copying packets to its stdout) into `decode` (an ffmpeg reading them
 * from its stdin), both bounded by `limits`; settled by the decoder: once it exits, the copy is
 * killed if it still runs (it has sent what the decoder needed, or the decoder failed).
 */
function runPiped(file: string, copy: string[], decode: string[], what: string, limits: RunLimits): Promise<void> {
  return new Promise((resolve, reject) => {
    const copier = spawn(file, copy, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const decoder = spawn(file, decode, { stdio: ['pipe', 'ignore', 'pipe'], windowsHide: true });
    const errors = { copy: '', decode: '' };
    const keep = (which: keyof typeof errors) => (chunk: Buffer) => {
      errors[which] = (errors[which] + chunk.toString('utf8')).slice(-4096);
    };
    copier.stderr.on('data', keep('copy'));
    decoder.stderr.on('data', keep('decode'));
    // The decoder may end before the copy has sent everything (it had its frames): no error.
    decoder.stdin.on('error', () => undefined);
    copier.stdout.on('error', () => undefined);
    copier.stdout.pipe(decoder.stdin);
    let failure: CaptureError | null = null;
    const killBoth = () => {
      copier.kill('SIGKILL');
      decoder.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      failure ??= runFailure.timedOut(what, limits);
      killBoth();
    }, limits.timeoutMs);
    const onAbort = () => {
      failure ??= runFailure.stopped(what);
      killBoth();
    };
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    if (limits.signal?.aborted) onAbort();
    const onSpawnError = (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ENOENT' ? runFailure.notRunnable(file) : new CaptureError(`${what} failed: ${err.message}.`, 'failed');
      killBoth();
    };
    copier.on('error', onSpawnError);
    decoder.on('error', onSpawnError);
    decoder.on('close', (code) => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      copier.kill('SIGKILL');
      if (failure) return reject(failure);
      if (code === 0) return resolve();
      reject(runFailure.failed(what, errors.decode.trim() || errors.copy));
    });
  });
}

const dropSupport = new Map<string, Promise<boolean>>();

/**
 * Whether this ffmpeg's noise filter takes a drop expression (ffmpeg 5 and later; Ubuntu 22.04's
 * 4.4 does not): asked once per ffmpeg, `ffmpeg -h bsf=noise`. Without it nothing is copied.
 */
export function ffmpegCanDrop(tools: FfmpegTools): Promise<boolean> {
  let known = dropSupport.get(tools.ffmpeg);
  if (!known) {
    known = runTool(tools.ffmpeg, ['-hide_banner', '-h', 'bsf=noise'], 'ffmpeg -h bsf=noise', { maxBytes: 64 * 1024, timeoutMs: 10_000 }).then(
      (out) => /^\s*-drop\s/m.test(out.toString('utf8')),
      () => false,
    );
    dropSupport.set(tools.ffmpeg, known);
  }
  return known;
}

/** Seconds as ffmpeg's -ss takes them: floored to microseconds (its time base), so a seek never passes its frame. */
function ssArg(seconds: number): string {
  return (Math.floor(Math.max(0, seconds) * 1e6) / 1e6).toFixed(6);
}

/** A seek to `index` as ffmpeg's -ss. */
function seekArg(info: VideoInfo, index: number): string {
  return ssArg(seekSeconds(info, index));
}

/**
 * Where a copy from key frame `key` seeks: halfway between it and the next frame, so that the
 * demuxer's seek (to the key frame at or before the time) lands on it and not on the key frame
 * before; the copy keeps the key frame though it is a little before that time (-copypriorss).
 */
function copySeekArg(info: VideoInfo, key: number): string {
  const t = info.times[key]!;
  const next = info.times[key + 1] ?? t;
  return ssArg((t + next) / 2 - info.startTime);
}

/**
 * noise's drop expression for packets `drop` (counts, ascending) and every one after `through`:
 * runs of counts as `between`, summed in groups of at most 8 inside parentheses, since ffmpeg's
 * expression parser refuses a sum of more than 100 terms. Commas escaped for the filter list.
 */
export function dropExpression(drop: readonly number[], through: number): string {
  const terms: string[] = [];
  for (let i = 0; i < drop.length; ) {
    let j = i;
    while (j + 1 < drop.length && drop[j + 1] === drop[j]! + 1) j++;
    terms.push(i === j ? `eq(n\\,${drop[i]})` : `between(n\\,${drop[i]}\\,${drop[j]})`);
    i = j + 1;
  }
  terms.push(`gt(n\\,${through})`);
  const sum = (xs: string[]): string => {
    if (xs.length <= 8) return xs.join('+');
    const size = Math.ceil(xs.length / 8);
    const parts: string[] = [];
    for (let k = 0; k < xs.length; k += size) parts.push(`(${sum(xs.slice(k, k + size))})`);
    return parts.join('+');
  };
  return sum(terms);
}

/**
 * One run's ffmpeg arguments: `copy` (null when no group of the run leaves frames out) sends the
 * dropping groups' packets from their key frames, each group one stream of a NUT stream on its
 * stdout, the unwanted frames left out by noise's drop expression; `decode` reads that stream
 * (input 0) and the other groups from the file by an accurate seek each, and writes each group's
 * frames as PNGs, `run-R-group-G-K.png`.
 */
export function runArgs(path: string, info: VideoInfo, planned: readonly FrameGroup[], run: number, size: { width: number; height: number }, workDir: string, decoder: readonly string[]): { copy: string[] | null; decode: string[] } {
  // Past MAX_DROP_CHARS of drop expressions, a group is decoded as it is.
  let chars = 0;
  const expressions = new Map<FrameGroup, string>();
  const groups = planned.map((g) => {
    if (!g.dropping) return g;
    const expression = dropExpression(g.dropping.drop, g.dropping.through);
    chars += expression.length;
    if (chars > MAX_DROP_CHARS) return { key: g.key, indices: g.indices, cost: g.indices.at(-1)! - g.key + 1 };
    expressions.set(g, expression);
    return g;
  });
  const piped = groups.filter((g) => g.dropping);
  const copy = piped.length === 0 ? null : ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (copy) {
    // Not -frames: in ffmpeg 5 the first stream of a file to reach its count ends the whole file.
    for (const g of piped) copy.push('-ss', copySeekArg(info, g.key), '-t', g.dropping!.seconds.toFixed(6), '-i', path);
    for (const [j] of piped.entries()) copy.push('-map', `${j}:v:0`);
    copy.push('-c', 'copy', '-copypriorss', '1');
    for (const [j, g] of piped.entries()) {
      copy.push(`-bsf:v:${j}`, `noise=drop=${expressions.get(g)!}`);
    }
    copy.push('-f', 'nut', 'pipe:1');
  }
  // passthrough: each picked frame written once, none repeated to fill the gaps between them.
  const decode = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-vsync', 'passthrough'];
  if (copy) decode.push(...decoder, '-f', 'nut', '-i', 'pipe:0');
  const direct = groups.filter((g) => !g.dropping);
  for (const g of direct) decode.push(...decoder, ...(g.skipping ? ['-skip_frame', 'noref'] : []), '-ss', seekArg(info, g.indices[0]!), '-i', path);
  for (const [i, g] of groups.entries()) {
    const input = g.dropping ? `0:${piped.indexOf(g)}` : `${direct.indexOf(g) + (copy ? 1 : 0)}:v:0`;
    const picks = (g.dropping ?? g.skipping)?.picks ?? g.indices.map((index) => index - g.indices[0]!);
    const select = picks.map((n) => `eq(n\\,${n})`).join('+');
    decode.push('-map', input, '-frames:v', String(g.indices.length), '-vf', `select=${select},scale=${size.width}:${size.height}:flags=bilinear`, '-c:v', 'png', '-start_number', '0', join(workDir, `run-${run}-group-${i}-%d.png`));
  }
  return { copy, decode };
}

/**
 * The frames at `indices` as PNGs of `size`: the frames after one key frame read by one seek and
 * one forward decode (the seek's frame first, the others picked by their count after it), or, in
 * H.264, copied from the key frame with the frames none refers to left out (withDropping); the
 * groups shared among up to one ffmpeg run per core, each run bounded in output and time, the
 * PNGs written to `workDir` and read back bounded.
 */
export async function extractFrames(tools: FfmpegTools, path: string, info: VideoInfo, indices: number[], size: { width: number; height: number }, workDir: string, signal?: AbortSignal, minBytesLeftOut = MIN_BYTES_LEFT_OUT): Promise<Buffer[]> {
  const name = basename(path);
  const maxBytes = size.width * size.height * 4 + 1024 * 1024;
  await mkdir(workDir, { recursive: true });
  const abort = new AbortController();
  const stop = () => abort.abort();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  const cores = availableParallelism();
  const canCopy = info.packets ? await ffmpegCanDrop(tools) : false;
  const runs = shareRuns(await withDropping(path, info, groupFrames(info, indices), minBytesLeftOut, canCopy), Math.min(MAX_RUNS_AT_ONCE, cores));
  const decoder = decoderOptions(runs.length, cores);
  const pngs = new Map<number, Buffer>();
  const readRun = async (groups: FrameGroup[], run: number): Promise<void> => {
    const { copy, decode } = runArgs(path, info, groups, run, size, workDir, decoder);
    const frames = groups.reduce((n, g) => n + g.indices.length, 0);
    const what = `ffmpeg reading ${frames} frames of ${name}`;
    const limits = { maxBytes: 1024 * 1024, timeoutMs: 60_000, signal: abort.signal };
    if (copy) await runPiped(tools.ffmpeg, copy, decode, what, limits);
    else await runTool(tools.ffmpeg, decode, what, limits);
    for (const [i, g] of groups.entries()) {
      for (const [k, index] of g.indices.entries()) {
        const png = await readRegularFile(join(workDir, `run-${run}-group-${i}-${k}.png`), maxBytes, `frame ${index} of ${name}`).catch(() => Buffer.alloc(0));
        if (png.length === 0) throw new CaptureError(`ffmpeg found no frame ${index} in ${name}.`, 'failed');
        pngs.set(index, png);
      }
    }
  };
  try {
    // One run failing stops the others; the first failure is the one told.
    const failures: unknown[] = [];
    await Promise.all(runs.map((groups, run) => readRun(groups, run).catch((err: unknown) => {
      failures.push(err);
      stop();
    })));
    if (failures.length > 0) throw failures[0];
  } finally {
    signal?.removeEventListener('abort', stop);
    await rm(workDir, { recursive: true, force: true });
  }
  return indices.map((index) => pngs.get(index)!);
}
