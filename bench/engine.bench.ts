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

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const MAX_TOKENS = 200;
const CONTEXT = 4096;
const THREADS = Math.min(4, cpus().length);
const WIDTH = 800;
const HEIGHT = 600;

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

async function main(): Promise<void> {
  const fixtures = await ensureFixtures();
  const { modelPath, mmprojPath } = fixtures.endless;
  const scratch = mkdtempSync(join(tmpdir(), 'lens-bench-'));
  // A different image each round, so every first turn encodes its image (no KV reuse across rounds).
  const images = Array.from({ length: REPEATS }, (_, i) => {
    const path = join(scratch, `screen-${i}.png`);
    writeFileSync(path, encodePng(WIDTH, HEIGHT, gradientImage(WIDTH, HEIGHT, 20 + i * 40)));
    return path;
  });
  const engine = new LocalEngine({
    workerPath: join(ROOT, 'dist', 'worker.js'),
    settings: () => ({ modelPath, mmprojPath, contextSize: CONTEXT, gpuLayers: 0, threads: THREADS, idleUnloadMinutes: 0 }),
    log: () => undefined,
  });
  const direct = startDirect(modelPath, mmprojPath);
  await Promise.all([engine.load(), direct.load()]);

  const rounds = { engine: [] as Round[], direct: [] as Round[] };
  for (let i = 0; i < REPEATS; i++) {
    const question: ChatTurn = { role: 'user', text: 'Describe this screenshot.', images: [{ path: images[i]! }] };
    const followUp = (answer: string): ChatTurn[] => [question, { role: 'assistant', text: answer, images: [] }, { role: 'user', text: 'What else is on it?', images: [] }];
    // Alternate which side goes first, so drift in machine state does not favour one.
    const sides = i % 2 ? (['engine', 'direct'] as const) : (['direct', 'engine'] as const);
    for (const side of sides) {
      const ask = (turns: ChatTurn[]) => (side === 'engine' ? viaEngine(engine, turns) : direct.run({ messages: turnsToMessages(turns), maxTokens: MAX_TOKENS }));
      const first = await ask([question]);
      rounds[side].push({ first, followUp: await ask(followUp(first.text)) });
    }
  }
  direct.stop();
  await engine.dispose();

  const summary = (rs: Round[]) => ({
    ttft: median(rs.map((r) => r.first.ttftMs)),
    tps: median(rs.map((r) => r.first.tokensPerSecond)),
    followTtft: median(rs.map((r) => r.followUp.ttftMs)),
  });
  const e = summary(rounds.engine);
  const d = summary(rounds.direct);
  const row = (name: string, s: typeof e) =>
    `${name.padEnd(22)} ${s.ttft.toFixed(1).padStart(9)} ms ${s.tps.toFixed(0).padStart(8)} tok/s ${s.followTtft.toFixed(1).padStart(11)} ms   ${(s.followTtft / s.ttft).toFixed(3)}`;
  console.log(`tiny InternVL3 (endless), ${WIDTH}×${HEIGHT} image (5 tiles, 1282 image tokens), ${MAX_TOKENS} tokens, ${THREADS} threads, median of ${REPEATS}`);
  console.log(`${''.padEnd(22)} ${'TTFT'.padStart(12)} ${'decode'.padStart(14)} ${'follow-up TTFT'.padStart(14)}   follow-up ÷ first`);
  console.log(row('@fugood/llama.node', d));
  console.log(row('LocalEngine', e));
  console.log(`overhead: TTFT engine ÷ direct = ${(e.ttft / d.ttft).toFixed(3)} (budget ≤ 1.03); ` +
    `tok/s direct ÷ engine = ${(d.tps / e.tps).toFixed(3)} (budget ≤ 1.03); follow-up TTFT engine ÷ direct = ${(e.followTtft / d.followTtft).toFixed(3)}`);
  console.log(`follow-up TTFT ÷ first-turn TTFT through the engine = ${(e.followTtft / e.ttft).toFixed(3)} (budget ≤ 0.10)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
