// `internvl-lens batch` with the server's parallel slots against the same images one at a time: 24
// distinct images per run (no prompt-cache reuse between them), the same warm LocalEngine and
// llama-server (--parallel 2) for both, through the batch command's own runImages() (src/cli/batch.ts).
// ABBA: one at a time, slots, slots, one at a time, each on a fresh image set, so drift favours
// neither; images per minute of each, and their ratio, in the same run. Budget: slots ≥ 1.5× one at a
// time where the server has ≥ 2 slots and the machine ≥ 2 cores (else the row is shown, unbudgeted).
//   node --import tsx bench/batch.bench.ts      (or npm run bench -- batch)
//   BENCH_BATCH_IMAGES (24), BENCH_BATCH_MODEL (tiny | internvl3-1b: the random-weight pair with real
//   dimensions, bench/real-dims-model.ts; minutes per image on 2 busy cores), BENCH_BATCH_MAX_TOKENS,
//   BENCH_BATCH_IN_FLIGHT (requests at once in the batch runs; default the slots)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runImages } from '../src/cli/batch';
import { DEFAULT_PARALLEL, LocalEngine } from '../src/engine/local/localEngine';
import { ensureFixtures } from '../test/fixtures/generate';
import { encodePng, gradientImage } from '../test/fixtures/png';
import { ensureRealDimsModel } from './real-dims-model';
import { reportBench, type BenchRow } from './report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGES = Number(process.env.BENCH_BATCH_IMAGES ?? 24);
const MODEL = process.env.BENCH_BATCH_MODEL ?? 'tiny';
const CORES = availableParallelism();
const THREADS = Math.min(4, CORES);
const SLOTS = DEFAULT_PARALLEL;
/** Requests in flight in the batch runs (default: the slots). */
const IN_FLIGHT = Number(process.env.BENCH_BATCH_IN_FLIGHT ?? SLOTS);
const BUDGET_SPEEDUP = 1.5;

/** A screenshot-sized image unlike every other one of the run (its own gradient and stripes). */
function distinctImage(width: number, height: number, seed: number): Buffer {
  const rgba = gradientImage(width, height, (seed * 53) % 256);
  let r = (seed + 1) * 2654435761;
  for (let y = 16; y + 8 < height; y += 24) {
    for (let x = 8; x < width - 8; x++) {
      r = (r * 1103515245 + 12345) >>> 0;
      if (r % 3 === 0) {
        const i = (y * width + x) * 4;
        rgba[i] = rgba[i + 1] = rgba[i + 2] = r % 64;
      }
    }
  }
  return encodePng(width, height, rgba);
}

function llamaServer(): string {
  const build = spawnSync('bash', [join(ROOT, 'scripts', 'build-llama-server.sh'), '--print-dir'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`scripts/build-llama-server.sh --print-dir failed: ${build.stderr}`);
  return join(build.stdout.trim().split('\n').at(-1)!, 'llama-server');
}

async function main(): Promise<void> {
  const server = llamaServer();
  const model =
    MODEL === 'tiny'
      ? { ...(await ensureFixtures()).grounding, label: 'tiny grounding pair', maxTiles: 12, maxTokens: Number(process.env.BENCH_BATCH_MAX_TOKENS ?? 64) }
      : (() => {
          const real = ensureRealDimsModel({ shape: 'internvl3-1b', maxTiles: 4, quantizer: join(server, '..', 'llama-quantize'), log: (l) => console.log(`  ${l}`) });
          return { ...real, label: `${real.shape}-shaped ${real.llmType}, 1 tile`, maxTiles: 1, maxTokens: Number(process.env.BENCH_BATCH_MAX_TOKENS ?? 32) };
        })();
  const scratch = mkdtempSync(join(tmpdir(), 'lens-batch-bench-'));
  const engine = new LocalEngine({
    settings: () => ({ modelPath: model.modelPath, mmprojPath: model.mmprojPath, contextSize: 8192, gpuLayers: 0, threads: THREADS, idleUnloadMinutes: 0, maxTiles: model.maxTiles }),
    server: async () => ({ executable: server, source: 'setting', env: {}, label: 'test build (bench)', notice: null }),
    log: () => undefined,
    parallel: SLOTS,
  });
  const rows: BenchRow[] = [];
  try {
    let set = 0;
    const imageSet = () => {
      const files: string[] = [];
      for (let i = 0; i < IMAGES; i++) {
        const path = join(scratch, `set${set}-${i}.png`);
        writeFileSync(path, distinctImage(1280, 800, set * 1000 + i));
        files.push(path);
      }
      set++;
      return files;
    };
    const run = async (concurrency: number) => {
      const files = imageSet();
      const summary = await runImages({ engine, files, command: 'ground', text: 'the Save button', maxTiles: model.maxTiles, maxTokens: model.maxTokens, concurrency, onLine: () => undefined });
      if (summary.failed) throw new Error(`${summary.failed} images failed`);
      const perMinute = IMAGES / (summary.ms / 60_000);
      console.log(`${concurrency === 1 ? 'one at a time' : `${concurrency} at a time`}: ${IMAGES} images in ${(summary.ms / 1000).toFixed(1)} s = ${perMinute.toFixed(1)} images/min`);
      return perMinute;
    };
    // Loads the model and warms the caches that are not per image (sharp, the client).
    await runImages({ engine, files: imageSet().slice(0, 2), command: 'ground', text: 'x', maxTiles: model.maxTiles, maxTokens: 4, concurrency: 2, onLine: () => undefined });
    const one1 = await run(1);
    const slots1 = await run(IN_FLIGHT);
    const slots2 = await run(IN_FLIGHT);
    const one2 = await run(1);
    const one = (one1 + one2) / 2;
    const slots = (slots1 + slots2) / 2;
    const budgeted = SLOTS >= 2 && CORES >= 2;
    const label = `batch, ${model.label}`;
    const note = `${IMAGES} distinct 1280×800 images per run, ground, ≤ ${model.maxTokens} tokens, ABBA (${one1.toFixed(0)}/${one2.toFixed(0)} and ${slots1.toFixed(0)}/${slots2.toFixed(0)} images/min), ${CORES} cores, ${THREADS} threads`;
    rows.push(
      { name: `${label}: ${SLOTS} slots`, value: Number(slots.toFixed(1)), unit: 'images/min', budget: Number.NaN, kind: 'info', note },
      { name: `${label}: one at a time`, value: Number(one.toFixed(1)), unit: 'images/min', budget: Number.NaN, kind: 'info', note: 'same engine and server, concurrency 1' },
      { name: `${label}: ${SLOTS} slots ÷ one at a time`, value: Number((slots / one).toFixed(3)), unit: '×', budget: budgeted ? BUDGET_SPEEDUP : Number.NaN, kind: budgeted ? 'min' : 'info', note: budgeted ? 'images per minute, same run' : `unbudgeted: ${SLOTS} slots, ${CORES} cores` },
    );
    for (const r of rows) console.log(`${r.name}: ${r.value} ${r.unit}${r.kind === 'min' ? ` (budget ≥ ${r.budget})` : ''}`);
    reportBench('batch', rows);
    if (rows.some((r) => r.kind === 'min' && r.value < r.budget)) process.exitCode = 1;
  } finally {
    await engine.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
