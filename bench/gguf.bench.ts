// What the GGUF pre-flight costs the extension host on the costliest headers (an InternVL3-14B-sized
// one, 64 MiB of empty strings, the most keys and tensors the reader takes): time, CPU, memory
// beyond what the process held before, and the longest event-loop wait, each run in a fresh process
// (the host's first check is a cold one). Beside it, in the same run on the same files,
// node-llama-cpp's readGgufFileInfo, the reader the host used before. Budget: 200 ms, 50 MB.
//   node --import tsx bench/gguf.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, readExpected } from '../test/fixtures/generate';
import { bundleCheckChild, extraMiB, runCheck, writeCostlyHeaders, type CheckReport } from '../test/fixtures/gguf-check';
import { ROOT } from '../test/integration/support';
import { type BenchRow, reportBench } from './report';

const BUDGET_MS = 200;
const BUDGET_EXTRA_MIB = 50;
const RUNS = 5;
const REFERENCE = join(ROOT, 'bench', 'gguf-reference-child.mjs');

interface Figures {
  bestMs: number;
  worstCpuMs: number;
  worstExtraMiB: number;
  worstLoopMs: number;
  outcome: string;
}

async function measure(script: string, files: string[]): Promise<Figures> {
  const runs: CheckReport[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runCheck(script, files, 120_000));
  return {
    bestMs: Math.min(...runs.map((r) => r.ms ?? Infinity)),
    worstCpuMs: Math.max(...runs.map((r) => r.cpuMs ?? Infinity)),
    worstExtraMiB: Math.max(...runs.map(extraMiB)),
    worstLoopMs: Math.max(...runs.map((r) => r.loopMaxMs ?? Infinity)),
    outcome: [...new Set(runs.map((r) => r.outcome))].join('/'),
  };
}

async function main(): Promise<void> {
  const fixture = (await ensureFixtures()).sentence;
  const { embeddingLength } = await readExpected(fixture);
  const dir = mkdtempSync(join(tmpdir(), 'lens-gguf-bench-'));
  try {
    const child = await bundleCheckChild(dir);
    const files = writeCostlyHeaders(dir, embeddingLength);
    const labels = { internvl: 'InternVL3-14B-sized header (151k tokens + merges, 795 tensors)', strings: '64 MiB of empty strings (the header ceiling)', counts: '4096 keys + 16 384 tensors' };
    const rows: BenchRow[] = [];
    for (const [which, label] of Object.entries(labels) as Array<[keyof typeof files, string]>) {
      const ours = await measure(child, [files[which], fixture.mmprojPath]);
      const theirs = await measure(REFERENCE, [files[which]]);
      console.log(label, { ours, theirs });
      const ref = (v: number, unit: string) => `node-llama-cpp's readGgufFileInfo, same file, same run: ${v.toFixed(unit === 'ms' ? 0 : 1)} ${unit}`;
      rows.push(
        { name: `GGUF pre-flight, ${label}: time (best of ${RUNS}, cold process; ${ours.outcome})`, value: ours.bestMs, unit: 'ms', budget: BUDGET_MS, note: ref(theirs.bestMs, 'ms') },
        { name: `GGUF pre-flight, ${label}: CPU (worst of ${RUNS})`, value: ours.worstCpuMs, unit: 'ms', budget: BUDGET_MS, note: ref(theirs.worstCpuMs, 'ms') },
        { name: `GGUF pre-flight, ${label}: memory beyond the process's own (worst)`, value: ours.worstExtraMiB, unit: 'MiB', budget: BUDGET_EXTRA_MIB, note: ref(theirs.worstExtraMiB, 'MiB') },
        { name: `GGUF pre-flight, ${label}: longest event-loop wait (worst)`, value: ours.worstLoopMs, unit: 'ms', budget: Number.NaN, kind: 'info', note: ref(theirs.worstLoopMs, 'ms') },
      );
    }
    reportBench('gguf', rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
