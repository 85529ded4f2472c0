// LocalEngine (host → JSON-RPC → worker → binding) against the binding called directly, same
// model, prompt and images, interleaved in one run so both see the same machine state.
// Prints time to first token and tokens/s for each, their ratios, and follow-up TTFT ÷ first TTFT.
//   npm run bench   (builds first: the engine runs the built dist/worker.js)
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalEngine } from '../src/engine/local/localEngine';
import type { ChatTurn } from '../src/engine/engine';
import type { ChatMessage } from '../src/worker/llama-node-api';
import { ensureFixtures } from '../test/fixtures/generate';
import { encodePng, gradientImage } from '../test/fixtures/png';
import type { DirectJob, Timing } from './direct-binding';
import { reportBench } from './report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPEATS = Number(process.env.BENCH_REPEATS ?? 9);
const MAX_TOKENS = 200;
const CONTEXT = 4096;
const THREADS = Math.min(4, cpus().length);
/** A screenshot as captured, and the size the extension sends it at (InternVL's reference grid, 2×2). */
const IMAGES = [
  { width: 800, height: 600, note: 'as captured' },
  { width: 896, height: 896, note: 'prepared to the 2×2 grid' },
] as const;

interface Round {
  first: Timing;
  followUp: Timing;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function startDirect(model: string, mmproj: string) {
  const child = fork(join(ROOT, 'bench', 'direct-binding.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const ask = <T>(msg: object): Promise<T> =>
    new Promise((resolve, reject) => {
      child.once('message', (reply: { error?: string } & T) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      child.send(msg);
    });
  return {
    load: () => ask({ load: { model, mmproj, contextSize: CONTEXT, threads: THREADS } }),
    run: async (job: DirectJob) => (await ask<{ timing: Timing }>({ job })).timing,
    stop: () => child.disconnect(),
  };
}

function turnsToMessages(turns: ChatTurn[]): ChatMessage[] {
  return turns.map((t) => ({
    role: t.role,
    content: t.images.length ? [...t.images.map((i) => ({ type: 'image_url' as const, image_url: { url: i.path } })), { type: 'text' as const, text: t.text }] : t.text,
  }));
}

async function viaEngine(engine: LocalEngine, turns: ChatTurn[]): Promise<Timing> {
  const start = performance.now();
  let first = 0;
  let last = 0;
  let chunks = 0;
  const outcome = await engine.chat(turns, { maxTokens: MAX_TOKENS, temperature: 0 }, () => {
    last = performance.now();
    if (!chunks++) first = last;
  });
  // The worker batches tokens after the first; count them as the binding reports them.
  const tokens = outcome.stats.generatedTokens;
  return { ttftMs: first - start, tokensPerSecond: ((tokens - 1) * 1000) / (last - first), tokens, text: outcome.text };
}

interface Summary {
  ttft: number;
  tps: number;
  followTtft: number;
}

function summarise(rs: Round[]): Summary {
  return {
    ttft: median(rs.map((r) => r.first.ttftMs)),
    tps: median(rs.map((r) => r.first.tokensPerSecond)),
    followTtft: median(rs.map((r) => r.followUp.ttftMs)),
  };
}

async function main(): Promise<void> {
  const fixtures = await ensureFixtures();
  const { modelPath, mmprojPath } = fixtures.endless;
  const scratch = mkdtempSync(join(tmpdir(), 'lens-bench-'));
  const engine = new LocalEngine({
    workerPath: join(ROOT, 'dist', 'worker.js'),
    settings: () => ({ modelPath, mmprojPath, contextSize: CONTEXT, gpuLayers: 0, threads: THREADS, idleUnloadMinutes: 0 }),
    log: () => undefined,
  });
  const direct = startDirect(modelPath, mmprojPath);
  await Promise.all([engine.load(), direct.load()]);

  console.log(`tiny InternVL3 (endless), ${MAX_TOKENS} tokens per answer, ${THREADS} threads, ${CONTEXT} context, median of ${REPEATS}`);
  console.log(`${'image / path'.padEnd(44)} ${'TTFT'.padStart(9)} ${'decode'.padStart(10)} ${'follow-up TTFT'.padStart(15)}  follow-up ÷ first`);
  for (const [n, size] of IMAGES.entries()) {
    // A different image each round, so every first turn encodes its image (no KV reuse across rounds).
    const images = Array.from({ length: REPEATS }, (_, i) => {
      const path = join(scratch, `screen-${n}-${i}.png`);
      writeFileSync(path, encodePng(size.width, size.height, gradientImage(size.width, size.height, 20 + i * 40)));
      return path;
    });
    const rounds = { engine: [] as Round[], direct: [] as Round[] };
    for (let i = 0; i < REPEATS; i++) {
      const question: ChatTurn = { role: 'user', text: 'Describe this screenshot.', images: [{ path: images[i]! }] };
      // The tiny model's generated ' tick' tokens re-tokenize as bytes, so a verbatim 200-token
      // answer would be evaluated again (~800 tokens) where a real model reuses its own answer from
      // the KV cache: the follow-up carries the answer's first 40 characters.
      const followUp = (answer: string): ChatTurn[] => [
        question,
        { role: 'assistant', text: answer.slice(0, 40), images: [] },
        { role: 'user', text: 'What else is on it?', images: [] },
      ];
      // Alternate which side goes first, so drift in machine state does not favour one.
      const sides = i % 2 ? (['engine', 'direct'] as const) : (['direct', 'engine'] as const);
      for (const side of sides) {
        const ask = (turns: ChatTurn[]) => (side === 'engine' ? viaEngine(engine, turns) : direct.run({ messages: turnsToMessages(turns), maxTokens: MAX_TOKENS }));
        const first = await ask([question]);
        rounds[side].push({ first, followUp: await ask(followUp(first.text)) });
      }
    }
    const e = summarise(rounds.engine);
    const d = summarise(rounds.direct);
    const label = `${size.width}×${size.height} ${size.note}`;
    const row = (name: string, x: Summary) =>
      `${`${label}: ${name}`.padEnd(44)} ${x.ttft.toFixed(0).padStart(6)} ms ${x.tps.toFixed(0).padStart(4)} tok/s ${x.followTtft.toFixed(0).padStart(12)} ms  ${(x.followTtft / x.ttft).toFixed(3)}`;
    console.log(row('binding', d));
    console.log(row('LocalEngine', e));
    console.log(
      `${''.padEnd(44)} engine ÷ binding: TTFT ${(e.ttft / d.ttft).toFixed(3)}, decode time ${(d.tps / e.tps).toFixed(3)}, follow-up TTFT ${(e.followTtft / d.followTtft).toFixed(3)} (budget ≤ 1.03)`,
    );
    console.log(`${''.padEnd(44)} follow-up ÷ first TTFT through the engine: ${(e.followTtft / e.ttft).toFixed(3)} (budget ≤ 0.10)`);
    reportBench('engine', [
      { name: `engine ÷ binding, TTFT (${label})`, value: e.ttft / d.ttft, unit: '×', budget: 1.03, note: 'binding called directly, same run' },
      { name: `engine ÷ binding, decode time (${label})`, value: d.tps / e.tps, unit: '×', budget: 1.03, note: 'binding called directly, same run' },
      { name: `follow-up ÷ first TTFT (${label})`, value: e.followTtft / e.ttft, unit: '×', budget: 0.1, note: 'through the engine' },
    ]);
  }
  direct.stop();
  await engine.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
