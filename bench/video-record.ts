// Record Screen's CPU cost (bench/video.bench.ts): a private 1920×1080 Xvfb showing xlogo windows
// that move, recorded at 2 fps for 20 s; this process's CPU time (every thread: the grab, sharp's
// resize and PNG encode, the writes) over the wall time. Xvfb's own time answering the grabs is
// shown beside it (it is the X server's, as it would be the desktop's).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordScreen } from '../src/video/record';
import { startXDisplay } from '../test/fixtures/xdisplay';
import type { BenchRow } from './report';

const SECONDS = Number(process.env.BENCH_RECORD_SECONDS ?? 20);

/** CPU seconds (user + system) of process `pid` so far, from /proc. */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function recordingRows(): Promise<BenchRow[]> {
  const x = await startXDisplay({ width: 1920, height: 1080 });
  const saved = process.env.DISPLAY;
  process.env.DISPLAY = x.display;
  const dir = mkdtempSync(join(tmpdir(), 'lens-record-bench-'));
  const movers = [0, 1, 2, 3].map((i) => x.run('xclock', ['-update', '1', '-geometry', `400x400+${i * 450}+${100 + i * 100}`]));
  try {
    // The newest Xvfb: the one just started for this display.
    const xvfbPid = Number((await x.exec('pgrep', ['-n', '-x', 'Xvfb'])).toString().trim());
    const cpu0 = process.cpuUsage();
    const x0 = processCpu(xvfbPid);
    const t0 = performance.now();
    const rec = await recordScreen({ fps: 2, seconds: SECONDS, outDir: dir });
    const wall = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    const own = (used.user + used.system) / 1e6 / wall;
    const server = (processCpu(xvfbPid) - x0) / wall;
    console.log(`Record Screen: ${rec.frames.length} frames (${rec.skipped} skipped) in ${wall.toFixed(1)} s; this process ${(own * 100).toFixed(1)} % of a core, Xvfb ${(server * 100).toFixed(1)} %`);
    return [
      { name: 'video: Record Screen at 2 fps, 1920×1080, CPU of one core', value: own * 100, unit: '%', budget: 10, note: `${rec.frames.length} frames (${rec.skipped} skipped) in ${wall.toFixed(1)} s, PNGs at 1024×576; the grab, resize, encode and write, every thread` },
      { name: 'video: Record Screen at 2 fps, the X server answering the grabs', value: server * 100, unit: '%', budget: Number.NaN, kind: 'info', note: 'Xvfb, 1920×1080×24' },
    ];
  } finally {
    for (const m of movers) m.kill();
    await x.stop();
    if (saved === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}
