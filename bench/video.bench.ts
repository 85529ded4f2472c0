// Explain this video: extracting the 8 frames InternVL's get_index picks from a 60 s 1080p MP4
// (generated once: ffmpeg's testsrc2 through libx264 at its default key-frame interval of 250
// frames, so a seek decodes up to ~8 s of video), end to end as the command does it: ffprobe's
// packet listing, the seeks, the PNGs. Budget: 1.5 s. Wall time on a shared machine is noisy, so
// the CPU seconds of ffprobe and ffmpeg (user + system) and the load average are shown beside it.
// Then 32 frames of the same clip (several frames after each key frame: one decode reads them).
// Then Record Screen (src/video/record.ts) of a private 1920×1080 Xvfb at 2 fps: CPU time of this
// process per second of recording, budget 10 % of one core.
//   node --import tsx bench/video.bench.ts      (BENCH_VIDEO_EXTRACT_ONLY=1: no Record Screen)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleClip } from '../src/video/clip';
import { reportBench, type BenchRow } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CLIP_DIR = join(tmpdir(), 'internvl-lens-bench-video');

/** A 60 s 1080p30 clip; `keyint`: frames between key frames (x264's default is 250). */
function clip60s1080p(keyint: number): string {
  const path = join(CLIP_DIR, `testsrc2-60s-1080p30-x264-g${keyint}.mp4`);
  if (existsSync(path)) return path;
  mkdirSync(CLIP_DIR, { recursive: true });
  const partial = `${path}.partial.mp4`;
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=60', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(keyint), '-pix_fmt', 'yuv420p', partial], { timeout: 15 * 60_000 });
  renameSync(partial, path);
  return path;
}

/** CPU seconds of this process's finished children (ffprobe, ffmpeg), from /proc. */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function extraction(keyint: number, frames = 8, runs = RUNS): Promise<BenchRow[]> {
  const path = clip60s1080p(keyint);
  const times: number[] = [];
  const cpu: number[] = [];
  let indices = '';
  const load0 = loadavg()[0]!;
  for (let i = 0; i < runs; i++) {
    const c0 = childrenCpu();
    const t0 = performance.now();
    const clip = await sampleClip(path, { ffmpegPath: '', frames });
    times.push(performance.now() - t0);
    cpu.push((childrenCpu() - c0) * 1000);
    indices = clip.frames.map((f) => f.index).join(', ');
  }
  const load = `load average ${load0.toFixed(1)}–${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  console.log(`${frames} frames of 60 s 1080p, key frame every ${keyint}: ${times.map((t) => t.toFixed(0)).join(', ')} ms; ffmpeg CPU ${cpu.map((t) => t.toFixed(0)).join(', ')} ms; ${load}; frames ${indices}`);
  const what = `${frames} frames from a 60 s 1080p MP4, key frame every ${keyint}`;
  return [
    { name: `video: ${what} (probe + decodes + PNGs)`, value: median(times), unit: 'ms', budget: frames === 8 ? 1500 : Number.NaN, ...(frames === 8 ? {} : { kind: 'info' as const }), note: `median of ${runs}; min ${Math.min(...times).toFixed(0)} ms; ${load}${frames === 8 ? `; frames ${indices}` : ''}` },
    { name: `video: … ffprobe + ffmpeg CPU time for those ${frames} frames (key frame every ${keyint})`, value: median(cpu), unit: 'ms', budget: Number.NaN, kind: 'info', note: `min ${Math.min(...cpu).toFixed(0)} ms; user + system of the children: the decoding from each key frame to its frames` },
  ];
}

async function main(): Promise<void> {
  // x264's default key-frame interval, and a screen recorder's usual 2 s.
  const rows = [...(await extraction(250)), ...(await extraction(60)), ...(await extraction(250, 32, Math.min(RUNS, 3)))];
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
