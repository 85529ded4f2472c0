// Explain this video: extracting the 8 frames InternVL's get_index picks from a 60 s 1080p MP4,
// end to end as the command does it: ffprobe's packet listing, the seeks, the PNGs. Budget: 1.5 s.
// Two kinds of generated clip, each through libx264:
//  - a screen recording, what the issue's users record: an editor window whose code scrolls, an
//    error dialog that moves over it for 25 s, a moving cursor, a clock; x264's defaults (CRF 23,
//    3 B-frames, a key frame every 250 frames), and a screen recorder's CBR (veryfast, 2.5 Mbit/s cap);
//  - ffmpeg's testsrc2, every pixel moving (camera-like, 5.3 Mbit/s): the hard case for a decoder,
//    key frame every 250 (x264's default) and every 60.
// Beside each, the reference: the same frames read the way one reads a frame with ffmpeg by hand
// (and decord's seek-then-decode), one `ffmpeg -ss T -i clip -frames:v 1` after another, same run.
// Wall time on a shared machine is noisy, so the CPU seconds of ffprobe and ffmpeg (user + system)
// and the load average are shown beside it. Then 32 frames of the same clip (several frames after
// each key frame: one decode reads them). Then Record Screen (src/video/record.ts) of a private
// 1920×1080 Xvfb at 2 fps: CPU time of this process per second of recording, budget 10 % of one core.
//   node --import tsx bench/video.bench.ts      (BENCH_VIDEO_EXTRACT_ONLY=1: no Record Screen)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { displaySize, sampleClip } from '../src/video/clip';
import { findFfmpeg, probeVideo, seekSeconds } from '../src/video/ffmpeg';
import { reportBench, type BenchRow } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CLIP_DIR = join(tmpdir(), 'internvl-lens-bench-video');

type Kind = 'screen' | 'screen-cbr' | 'testsrc2';

const DESCRIBED: Record<Kind, string> = {
  screen: 'a screen recording (x264 defaults: CRF 23, key frame every 250)',
  'screen-cbr': "a screen recording at a recorder's CBR (veryfast, 2.5 Mbit/s cap, key frame every 250)",
  testsrc2: 'testsrc2, every pixel moving (camera-like)',
};

/** Code-like lines for the editor window to scroll through. */
function codeText(): string {
  const words = 'const let return import from export function async await if else for while new this value error result request response config'.split(' ');
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: 400 }, (_, i) => `${String(i + 1).padStart(4)}  ${'    '.repeat(Math.floor(next() * 4))}${Array.from({ length: 2 + Math.floor(next() * 8) }, () => words[Math.floor(next() * words.length)]).join(' ')};`).join('\n');
}

/** The ffmpeg arguments that make a 60 s 1080p30 clip of `kind` (before the encoder's). */
function sourceArgs(kind: Kind): string[] {
  if (kind === 'testsrc2') return ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=60'];
  const code = join(CLIP_DIR, 'code.txt');
  writeFileSync(code, codeText());
  const dialogAt = "x='500+300*sin(t/7)':y='350+120*cos(t/9)':enable='between(t,20,45)'";
  return [
    '-f', 'lavfi', '-i', 'color=c=0x3a6ea5:s=1920x1080:r=30:d=60',
    '-f', 'lavfi', '-i', `color=c=0x1e1e1e:s=1500x864:r=30:d=60,drawbox=x=0:y=0:w=260:h=864:color=0x252526:t=fill,drawtext=font=monospace:fontsize=20:fontcolor=0xd4d4d4:textfile=${code}:x=280:y=20-mod(floor(t/2)*22\\,6000):line_spacing=4`,
    '-f', 'lavfi', '-i', "color=c=0xf3f3f3:s=640x300:r=30:d=60,drawtext=font=sans:fontsize=28:fontcolor=0xb00020:text='Error\\: request failed (500)':x=40:y=60,drawbox=x=460:y=220:w=140:h=50:color=0x0e639c:t=fill,drawtext=font=sans:fontsize=22:fontcolor=white:text='OK':x=515:y=232",
    '-f', 'lavfi', '-i', 'color=c=white:s=14x22:r=30:d=60',
    '-filter_complex', `[0][1]overlay=x=120:y=96[a];[a]drawbox=x=120:y=60:w=1500:h=36:color=0x323233:t=fill,drawtext=font=sans:fontsize=18:fontcolor=white:text='app.ts':x=840:y=68[b];[b][2]overlay=${dialogAt}[c];[c][3]overlay=x='960+700*sin(t/3)':y='540+400*sin(t/4.3)',drawtext=font=monospace:fontsize=22:fontcolor=white:text='%{pts\\:hms} frame %{n}':x=1650:y=1045,format=yuv420p`,
  ];
}

/** A 60 s 1080p30 clip of `kind`; `keyint`: frames between key frames (x264's default is 250). */
function clip60s1080p(kind: Kind, keyint: number): string {
  const path = join(CLIP_DIR, `${kind}-60s-1080p30-x264-g${keyint}.mp4`);
  if (existsSync(path)) return path;
  mkdirSync(CLIP_DIR, { recursive: true });
  const partial = `${path}.partial.mp4`;
  const encoder =
    kind === 'testsrc2' ? ['-preset', 'veryfast'] : kind === 'screen-cbr' ? ['-preset', 'veryfast', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k'] : [];
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...sourceArgs(kind), '-c:v', 'libx264', ...encoder, '-g', String(keyint), '-pix_fmt', 'yuv420p', partial], { timeout: 15 * 60_000 });
  renameSync(partial, path);
  return path;
}

/** The clip's bit rate in Mbit/s and libavcodec's decoding CPU per frame (one thread, every frame), for the notes. */
function decodeCost(path: string): string {
  const rate = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=bit_rate', '-of', 'csv=p=0', path], { encoding: 'utf8' }).trim()) / 1e6;
  const c0 = childrenCpu();
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-threads', '1', '-i', path, '-f', 'null', '-']);
  const perFrame = ((childrenCpu() - c0) * 1000) / 1800;
  return `${rate.toFixed(2)} Mbit/s, ${perFrame.toFixed(1)} ms of CPU to decode a frame`;
}

/** CPU seconds of this process's finished children (ffprobe, ffmpeg), from /proc. */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The reference: each frame by its own `ffmpeg -ss T -i clip -frames:v 1` (an accurate seek:
 * decoding from the key frame before it), one after another, scaled and written as PNG as ours are.
 * It lists the packets once first (as ours does, and as decord indexes every packet when it opens
 * a video) to know each frame's time.
 */
async function referenceRead(path: string, indices: number[]): Promise<void> {
  const tools = await findFfmpeg('');
  const info = await probeVideo(tools, path);
  const size = displaySize(info.width, info.height);
  const out = join(CLIP_DIR, 'reference.png');
  for (const index of indices) {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-ss', seekSeconds(info, index).toFixed(6), '-i', path, '-frames:v', '1', '-vf', `scale=${size.width}:${size.height}:flags=bilinear`, out]);
  }
}

async function extraction(kind: Kind, keyint: number, frames = 8, runs = RUNS): Promise<BenchRow[]> {
  const path = clip60s1080p(kind, keyint);
  const times: number[] = [];
  const cpu: number[] = [];
  const reference: number[] = [];
  let indices: number[] = [];
  const load0 = loadavg()[0]!;
  for (let i = 0; i < runs; i++) {
    const c0 = childrenCpu();
    const t0 = performance.now();
    const clip = await sampleClip(path, { ffmpegPath: '', frames });
    times.push(performance.now() - t0);
    cpu.push((childrenCpu() - c0) * 1000);
    indices = clip.frames.map((f) => f.index);
    // The reference in the same run, right after: the machine as busy for both.
    if (frames === 8) {
      const r0 = performance.now();
      await referenceRead(path, indices);
      reference.push(performance.now() - r0);
    }
  }
  const load = `load average ${load0.toFixed(1)}–${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  const cost = decodeCost(path);
  console.log(`${frames} frames of 60 s 1080p ${kind}, key frame every ${keyint}: ${times.map((t) => t.toFixed(0)).join(', ')} ms; reference ${reference.map((t) => t.toFixed(0)).join(', ')} ms; ffmpeg CPU ${cpu.map((t) => t.toFixed(0)).join(', ')} ms; ${load}; ${cost}; frames ${indices.join(', ')}`);
  const what = `${frames} frames from a 60 s 1080p MP4, ${DESCRIBED[kind]}${kind === 'testsrc2' ? `, key frame every ${keyint}` : ''}`;
  const rows: BenchRow[] = [
    { name: `video: ${what} (probe + decodes + PNGs)`, value: median(times), unit: 'ms', budget: frames === 8 ? 1500 : Number.NaN, ...(frames === 8 ? {} : { kind: 'info' as const }), note: `median of ${runs}; min ${Math.min(...times).toFixed(0)} ms; ${load}; ${cost}${frames === 8 ? `; frames ${indices.join(', ')}` : ''}` },
    { name: `video: … ffprobe + ffmpeg CPU time for those ${frames} frames`, value: median(cpu), unit: 'ms', budget: Number.NaN, kind: 'info', note: `min ${Math.min(...cpu).toFixed(0)} ms; user + system of the children: the decoding from each key frame to its frames` },
  ];
  if (reference.length > 0) {
    rows.push({ name: 'video: \u2026 the reference: one `ffmpeg -ss T -i clip -frames:v 1` a frame, one after another', value: median(reference), unit: 'ms', budget: Number.NaN, kind: 'info', note: `same runs; ours ${(median(reference) / median(times)).toFixed(2)}× faster` });
  }
  return rows;
}

async function main(): Promise<void> {
  const rows = [
    ...(await extraction('screen', 250)),
    ...(await extraction('screen-cbr', 250)),
    ...(await extraction('testsrc2', 250)),
    ...(await extraction('testsrc2', 60)),
    ...(await extraction('testsrc2', 250, 32, Math.min(RUNS, 3))),
  ];
  if (!process.env.BENCH_VIDEO_EXTRACT_ONLY) {
    const { recordingRows } = await import('./video-record');
    rows.push(...(await recordingRows()));
  }
  for (const r of rows) console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit} (budget ${r.budget}) ${r.note ?? ''}`);
  reportBench('video', rows);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
