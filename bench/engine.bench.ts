// Lens local against llama.cpp's llama-server driven directly, the reference we did not write:
// the same llama-server build (scripts/build-llama-server.sh, the tests' native build), the same
// GGUF pair, threads and context, one run. The direct side is driven as a user of llama-server's
// web UI would drive it: the raw 1920×1080 screenshot pasted as a data: URL into a streamed
// /v1/chat/completions, the server's defaults otherwise (4 slots, unified KV, prompt cache). The
// Lens side goes through the extension's Engine interface (src/engine/engine.ts) with what the
// extension sends: the capture resized to InternVL's reference grid (src/images/prepare.ts).
//
// Two model pairs: (1) the tiny generated pair (test/fixtures; fixed costs dominate, rows shown
// unbudgeted) and (2) a random-weight pair with InternVL3-1B's real dimensions
// (bench/real-dims-model.ts, cached in .cache/bench-models/), its tiles limited so that the bench
// stays within minutes on 2 cores (clip.vision.preproc_max_tiles in its mmproj bounds the server's
// own tiling, internvlLens.maxTiles the Lens side). Per round and side, on a fresh pair of images:
//   first turn   one screenshot + a question           → image tokens, TTFT, decode tok/s
//   follow-up    a text question about it               → TTFT (the image must come from the cache)
//   add an image a second screenshot of the same size   → TTFT, against the first turn (= encoding
//                                                          one such image alone)
// ABBA: the side that asks first alternates per round and each next turn runs in the reverse order,
// so drift favours neither side. Ratios are taken per round (Lens ÷ direct) and their median kept.
// The engine-vs-direct overhead row sends both sides the same grid-prepared image (tiny pair).
// llama-bench pp512/tg32 rows give the kernels' own rates on the same LLM files.
//   npm run bench:engine   (or npm run bench -- engine)
//   BENCH_TINY_ROUNDS (default 4), BENCH_REAL_ROUNDS (1), BENCH_OVERHEAD_ROUNDS (8),
//   BENCH_REAL_MAX_TILES (4), BENCH_SKIP_REAL=1, BENCH_SKIP_TINY=1,
//   BENCH_SHAPE (internvl3-1b | internvl3-14b), BENCH_GPU_LAYERS (0; -1 = all, both sides),
//   BENCH_LLAMA_BIN (a folder with llama-server, llama-bench, llama-quantize; default the test
//   build) — bench/device.sh sets the last three for a GPU machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatTurn, Engine } from '../src/engine/engine';
import { prepareForModel } from '../src/images';
import { ensureFixtures } from '../test/fixtures/generate';
import { encodePng, gradientImage } from '../test/fixtures/png';
import { ensureRealDimsModel, SHAPES, type ShapeName } from './real-dims-model';
import { reportBench, type BenchRow } from './report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const THREADS = Math.min(4, cpus().length);
const CONTEXT = 8192;
const SCREEN = { width: 1920, height: 1080 };
/**
 * The image added in the third turn: a region capture of one tile. Small, so that the rounds stay
 * within minutes on 2 cores and two images fit the tiny model's 4096-token context (a second raw
 * screenshot would not: 2 × 3330 image tokens).
 */
const REGION = { width: 448, height: 448 };
const TINY_ROUNDS = Number(process.env.BENCH_TINY_ROUNDS ?? 4);
const REAL_ROUNDS = Number(process.env.BENCH_REAL_ROUNDS ?? 1);
const OVERHEAD_ROUNDS = Number(process.env.BENCH_OVERHEAD_ROUNDS ?? 8);
const REAL_MAX_TILES = Number(process.env.BENCH_REAL_MAX_TILES ?? 4);
const SHAPE = (process.env.BENCH_SHAPE ?? 'internvl3-1b') as ShapeName;
/** Layers on the GPU, both sides: 0 = CPU only, -1 = all (llama-server's -ngl 999). */
const GPU_LAYERS = Number(process.env.BENCH_GPU_LAYERS ?? 0);
/** Longest any one turn may take (a real-dimension first turn on 2 busy cores is ~a minute). */
const TURN_TIMEOUT_MS = 10 * 60_000;
const LOAD_TIMEOUT_MS = 5 * 60_000;

const BUDGET = { firstTurn: 0.75, decode: 0.98, followUp: 0.1, addImage: 1.1, overhead: 1.03 } as const;
const LENS_NOT_YET = 'n/a (engine not on llama-server yet)';

// ---------------------------------------------------------------------------------------------
// Measuring

interface Timing {
  ttftMs: number;
  /** Tokens after the first, per second of wall time between the first and the last. */
  tokensPerSecond: number;
  tokens: number;
  /** Prompt tokens evaluated (not taken from the cache), as the server reports them. */
  promptTokens: number | null;
  /** The whole prompt: evaluated + reused from the cache. */
  contextTokens: number | null;
}

type Message = { role: 'user' | 'assistant'; content: string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }> };

/** One side of the comparison: asks a conversation, says its process. */
interface Side {
  name: string;
  pid: () => number | undefined;
  ask: (turns: ChatTurn[], maxTokens: number) => Promise<Timing>;
  stop: () => Promise<void>;
}

/** Peak resident memory of a process so far (VmHWM), MiB. */
function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const dataUrl = (file: string) => `data:image/png;base64,${readFileSync(file).toString('base64')}`;

/** The conversation as llama-server's web UI sends it: each image a data: URL before the text. */
function webUiMessages(turns: ChatTurn[]): Message[] {
  return turns.map((t) => ({
    role: t.role,
    content: t.images.length ? [...t.images.map((i) => ({ type: 'image_url' as const, image_url: { url: dataUrl(i.path) } })), { type: 'text' as const, text: t.text }] : t.text,
  }));
}

/** Sides running now: a failed run stops them on the way out (main's finally). */
const running = new Set<Side>();
function tracked(side: Side): Side {
  running.add(side);
  return { ...side, stop: () => (running.delete(side), side.stop()) };
}

/** Every server this process started: a failed run must not leave one behind (they outlive it). */
const servers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of servers) child.kill('SIGKILL');
});

/** llama-server started as a user starts it for its web UI: model, mmproj, context, threads. */
async function startDirect(server: string, model: { modelPath: string; mmprojPath: string }, log: string[]): Promise<Side> {
  const port = await freePort();
  const args = ['-m', model.modelPath, '--mmproj', model.mmprojPath, '-c', String(CONTEXT), '-t', String(THREADS), '-ngl', GPU_LAYERS < 0 ? '999' : String(GPU_LAYERS)];
  const child: ChildProcess = spawn(server, [...args, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString('utf8')).slice(-16_384);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | null = null;
  servers.add(child);
  child.once('exit', (code, signal) => {
    exited = `exit ${code ?? signal}`;
    servers.delete(child);
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`llama-server ended while loading (${exited}): ${tail.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`llama-server did not report /health ok within ${LOAD_TIMEOUT_MS / 1000} s: ${tail.slice(-2000)}`);
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return tracked({
    name: 'llama-server',
    pid: () => child.pid,
    ask: async (turns, maxTokens) => {
      const body = JSON.stringify({ messages: webUiMessages(turns), stream: true, max_tokens: maxTokens, temperature: 0, stream_options: { include_usage: true } });
      const start = performance.now();
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body, signal: AbortSignal.timeout(TURN_TIMEOUT_MS) });
      if (!res.ok || !res.body) throw new Error(`llama-server answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
      let first = 0;
      let last = 0;
      let timings: { predicted_n?: number; prompt_n?: number; cache_n?: number } = {};
      let pending = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!line.startsWith('data:') || line === 'data: [DONE]') continue;
          const event = JSON.parse(line.slice(5)) as { choices?: Array<{ delta?: { content?: string | null } }>; timings?: typeof timings };
          if (event.choices?.[0]?.delta?.content) {
            last = performance.now();
            if (!first) first = last;
          }
          if (event.timings) timings = event.timings;
        }
      }
      const tokens = timings.predicted_n ?? 0;
      const promptTokens = timings.prompt_n ?? null;
      const contextTokens = promptTokens === null ? null : promptTokens + (timings.cache_n ?? 0);
      return { ttftMs: first - start, tokensPerSecond: ((tokens - 1) * 1000) / (last - first), tokens, promptTokens, contextTokens };
    },
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      log.push(`llama-server ${child.pid} stopped`);
    },
  });
}

/**
 * The extension's local engine on the same server build, or null while src/engine/local is still
 * the @fugood/llama.node worker (then the Lens rows say so instead of measuring something else).
 * Written against the llama-server LocalEngine's options (settings, server, log).
 */
async function startLens(server: string, model: { modelPath: string; mmprojPath: string }, maxTiles: number): Promise<Side | null> {
  if (!existsSync(join(ROOT, 'src', 'engine', 'local', 'llamaServer.ts'))) return null;
  const { LocalEngine } = await import('../src/engine/local/localEngine');
  type LensEngine = Engine & { serverPid?: number };
  const Construct = LocalEngine as unknown as new (options: object) => LensEngine;
  const engine = new Construct({
    settings: () => ({ ...model, contextSize: CONTEXT, gpuLayers: GPU_LAYERS, threads: THREADS, idleUnloadMinutes: 0, maxTiles }),
    server: async () => ({ executable: server, source: 'setting', env: {}, label: 'test build (bench)', notice: null }),
    log: () => undefined,
  });
  await engine.load();
  return tracked({
    name: 'Lens',
    pid: () => engine.serverPid,
    ask: async (turns, maxTokens) => {
      const start = performance.now();
      let first = 0;
      let last = 0;
      const outcome = await engine.chat(turns, { maxTokens, temperature: 0 }, () => {
        last = performance.now();
        if (!first) first = last;
      });
      const { generatedTokens: tokens, promptTokens, contextTokens } = outcome.stats;
      return { ttftMs: first - start, tokensPerSecond: ((tokens - 1) * 1000) / (last - first), tokens, promptTokens, contextTokens };
    },
    stop: () => engine.dispose(),
  });
}

/** Something like a screenshot: a backdrop gradient under lines of text-like strokes, different per `seed`. */
function screenLike(width: number, height: number, seed: number): Uint8Array {
  const rgba = gradientImage(width, height, (seed * 37) % 256);
  let r = seed * 2654435761;
  for (let y = 20; y + 12 < height; y += 18) {
    for (let x = 10; x < width - 10; x++) {
      r = (r * 1103515245 + 12345) >>> 0;
      if (r >>> 29 < 3) continue; // gaps between "words"
      for (let dy = 0; dy < 10; dy++) {
        if ((r >>> (dy + 8)) & 1) rgba.fill(230, ((y + dy) * width + x) * 4, ((y + dy) * width + x) * 4 + 3);
      }
    }
  }
  return rgba;
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)]! + s[Math.ceil(m)]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

// ---------------------------------------------------------------------------------------------
// One model pair, both sides

interface Conversation {
  first: Timing;
  followUp: Timing;
  /** The conversation so far plus a second image. */
  addImage: Timing;
  /** A fresh conversation with only an image of the second one's size (a different one: not cached). */
  alone: Timing;
}

interface PairSpec {
  label: string;
  model: { modelPath: string; mmprojPath: string };
  maxTiles: number;
  /** Size of the image added in the third turn (and of the one encoded alone). */
  second: { width: number; height: number };
  rounds: number;
  maxTokens: number;
  budgeted: boolean;
}

const QUESTION = 'Describe this screenshot.';
// A fixed answer in the history, as short as a real one: both sides then re-evaluate the same text.
const ANSWER = 'It shows an editor window with a toolbar, a file list on the left and lines of text.';

async function comparePair(spec: PairSpec, server: string, scratch: string, rows: BenchRow[]): Promise<void> {
  const log: string[] = [];
  const direct = await startDirect(server, spec.model, log);
  const lens = await startLens(server, spec.model, spec.maxTiles);
  const sides = lens ? [direct, lens] : [direct];
  console.log(`\n${spec.label}: ${sides.map((s) => s.name).join(' and ')}, ${THREADS} threads, context ${CONTEXT}, ${spec.rounds} round(s), ${spec.maxTokens} tokens per answer`);
  const textOnly: Record<string, Timing> = {};
  for (const s of sides) textOnly[s.name] = await s.ask([{ role: 'user', text: QUESTION, images: [] }], 4); // warm-up, and the text's own tokens
  const results: Record<string, Conversation[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
  let prepareMs = 0;
  for (let round = 0; round < spec.rounds; round++) {
    const files: Array<{ raw: string; prepared: string }> = [];
    for (const [k, size] of [SCREEN, spec.second, spec.second].entries()) {
      const key = `${spec.label.replace(/\W+/g, '-')}-${round}-${k}`;
      const raw = join(scratch, `${key}.png`);
      writeFileSync(raw, encodePng(size.width, size.height, screenLike(size.width, size.height, 1000 * spec.maxTiles + 10 * round + k + 1)));
      const t0 = performance.now();
      const prepared = await prepareForModel(raw, { outDir: scratch, key, maxTiles: spec.maxTiles });
      if (k === 0) prepareMs = performance.now() - t0;
      files.push({ raw, prepared: prepared.modelPath });
    }
    const image = (s: Side, k: number) => ({ path: s === direct ? files[k]!.raw : files[k]!.prepared });
    const turn1 = (s: Side): ChatTurn[] => [{ role: 'user', text: QUESTION, images: [image(s, 0)] }];
    const turn2 = (s: Side): ChatTurn[] => [...turn1(s), { role: 'assistant', text: ANSWER, images: [] }, { role: 'user', text: 'What else is on it?', images: [] }];
    const turn3 = (s: Side): ChatTurn[] => [...turn2(s), { role: 'assistant', text: ANSWER, images: [] }, { role: 'user', text: 'And on this one?', images: [image(s, 1)] }];
    const alone = (s: Side): ChatTurn[] => [{ role: 'user', text: QUESTION, images: [image(s, 2)] }];
    const order = round % 2 ? [...sides].reverse() : sides;
    const got: Record<string, Partial<Conversation>> = Object.fromEntries(sides.map((s) => [s.name, {}]));
    const steps = [['first', turn1], ['followUp', turn2], ['addImage', turn3], ['alone', alone]] as const;
    for (const [i, [key, turns]] of steps.entries()) {
      for (const s of i % 2 ? [...order].reverse() : order) got[s.name]![key] = await s.ask(turns(s), key === 'first' ? spec.maxTokens : 8);
    }
    for (const s of sides) {
      const c = got[s.name] as Conversation;
      results[s.name]!.push(c);
      console.log(
        `  round ${round + 1} ${s.name.padEnd(12)} first ${ms(c.first.ttftMs)} (${c.first.promptTokens} prompt tokens, ${c.first.tokensPerSecond.toFixed(1)} tok/s over ${c.first.tokens})` +
          ` · follow-up ${ms(c.followUp.ttftMs)} (${c.followUp.promptTokens} evaluated) · add image ${ms(c.addImage.ttftMs)} (${c.addImage.promptTokens} evaluated)` +
          ` · that image's size alone ${ms(c.alone.ttftMs)} (${c.alone.promptTokens} evaluated)`,
      );
    }
  }
  const peak: Record<string, number> = Object.fromEntries(sides.map((s) => [s.name, peakRssMiB(s.pid())]));
  for (const s of sides) await s.stop();

  const m = (side: string, f: (c: Conversation) => number) => median(results[side]!.map(f));
  const imageTokens = (side: string) => m(side, (c) => (c.first.contextTokens ?? Number.NaN) - (textOnly[side]!.contextTokens ?? Number.NaN));
  const second = `${spec.second.width}×${spec.second.height}`;
  const d = 'llama-server';
  const tag = spec.label;
  const info = (name: string, value: number, unit: string, note: string): BenchRow => ({ name: `${tag}: ${name}`, value, unit, budget: Number.NaN, kind: 'info', note });
  rows.push(
    info('direct llama-server, image tokens (raw 1920×1080)', imageTokens(d), 'tokens', `its own tiling, ≤ ${spec.maxTiles} tiles + thumbnail`),
    info('direct llama-server, first-turn TTFT', m(d, (c) => c.first.ttftMs), 'ms', 'raw screenshot as a data: URL, streamed'),
    info('direct llama-server, follow-up TTFT', m(d, (c) => c.followUp.ttftMs), 'ms', 'same image in the history'),
    info(`direct llama-server, adding a second image (${second}), TTFT`, m(d, (c) => c.addImage.ttftMs), 'ms', `${m(d, (c) => c.addImage.promptTokens ?? Number.NaN)} tokens evaluated; that image's size alone: ${ms(m(d, (c) => c.alone.ttftMs))}`),
    info('direct llama-server, decode', m(d, (c) => c.first.tokensPerSecond), 'tok/s', `first turn, ${spec.maxTokens} tokens`),
    info('direct llama-server, peak RSS', peak[d]!, 'MiB', 'VmHWM of the server process'),
  );
  const ratio = (f: (c: Conversation) => number) => median(results.Lens?.map((c, i) => f(c) / f(results[d]![i]!)) ?? []);
  const lensRow = (name: string, value: () => number, unit: string, budget: number, kind: 'max' | 'min', note: () => string): BenchRow => {
    const held = spec.budgeted && Number.isFinite(budget);
    return lens
      ? { name: `${tag}: ${name}`, value: value(), unit, budget: held ? budget : Number.NaN, kind: held ? kind : 'info', note: note() }
      : { name: `${tag}: ${name}`, value: Number.NaN, unit, budget: held ? budget : Number.NaN, kind: 'n/a', note: LENS_NOT_YET };
  };
  const L = 'Lens';
  rows.push(
    lensRow('Lens, image tokens (1920×1080 on InternVL\'s grid)', () => imageTokens(L), 'tokens', Number.NaN, 'max', () => `direct: ${imageTokens(d)}; grid-prepared copy made in ${ms(prepareMs)} after the capture`),
    lensRow('Lens ÷ direct, first-turn TTFT (1920×1080)', () => ratio((c) => c.first.ttftMs), '×', BUDGET.firstTurn, 'max', () => `Lens ${ms(m(L, (c) => c.first.ttftMs))}, direct ${ms(m(d, (c) => c.first.ttftMs))}`),
    lensRow('Lens ÷ direct, decode tok/s', () => ratio((c) => c.first.tokensPerSecond), '×', BUDGET.decode, 'min', () => `Lens ${m(L, (c) => c.first.tokensPerSecond).toFixed(1)}, direct ${m(d, (c) => c.first.tokensPerSecond).toFixed(1)} tok/s`),
    lensRow('Lens follow-up ÷ Lens first-turn TTFT', () => m(L, (c) => c.followUp.ttftMs / c.first.ttftMs), '×', BUDGET.followUp, 'max', () => `Lens follow-up ${ms(m(L, (c) => c.followUp.ttftMs))}; direct ${ms(m(d, (c) => c.followUp.ttftMs))}`),
    lensRow(`Lens adding an image (${second}) ÷ encoding it alone`, () => m(L, (c) => c.addImage.ttftMs / c.alone.ttftMs), '×', BUDGET.addImage, 'max', () => `Lens ${ms(m(L, (c) => c.addImage.ttftMs))} (${m(L, (c) => c.addImage.promptTokens ?? Number.NaN)} evaluated) vs ${ms(m(L, (c) => c.alone.ttftMs))}; direct ${m(d, (c) => c.addImage.ttftMs / c.alone.ttftMs).toFixed(2)}×`),
    lensRow('Lens, peak RSS of the inference process', () => peak[L]!, 'MiB', Number.NaN, 'max', () => `direct ${peak[d]!.toFixed(0)} MiB`),
  );
  console.log(log.join('\n'));
}

/** Engine ÷ direct on identical input (the grid-prepared image on both sides): the engine's own cost. */
async function overhead(server: string, model: { modelPath: string; mmprojPath: string }, scratch: string, rows: BenchRow[]): Promise<void> {
  const names = ['engine ÷ direct, TTFT (same grid-prepared 1792×896 image)', 'engine ÷ direct, decode time per token (same image)'];
  const log: string[] = [];
  const direct = await startDirect(server, model, log);
  const lens = await startLens(server, model, 12);
  if (!lens) {
    await direct.stop();
    for (const n of names) rows.push({ name: `tiny: ${n}`, value: Number.NaN, unit: '×', budget: BUDGET.overhead, kind: 'n/a', note: LENS_NOT_YET });
    return;
  }
  const ttft: number[] = [];
  const decode: number[] = [];
  const maxTokens = 200;
  for (let round = 0; round <= OVERHEAD_ROUNDS; round++) {
    const raw = join(scratch, `overhead-${round}.png`);
    writeFileSync(raw, encodePng(SCREEN.width, SCREEN.height, screenLike(SCREEN.width, SCREEN.height, 5000 + round)));
    const path = (await prepareForModel(raw, { outDir: scratch, key: `overhead-${round}`, maxTiles: 12 })).modelPath;
    const turns: ChatTurn[] = [{ role: 'user', text: QUESTION, images: [{ path }] }];
    const order = round % 2 ? [lens, direct] : [direct, lens];
    const t: Record<string, Timing> = {};
    for (const s of order) t[s.name] = await s.ask(turns, maxTokens);
    if (round === 0) continue; // warm-up
    const a = t.Lens!;
    const b = t['llama-server']!;
    ttft.push(a.ttftMs / b.ttftMs);
    decode.push(b.tokensPerSecond / a.tokensPerSecond);
  }
  await lens.stop();
  await direct.stop();
  const note = `median of ${OVERHEAD_ROUNDS} ABBA rounds, tiny pair, same server build`;
  rows.push(
    { name: `tiny: ${names[0]}`, value: median(ttft), unit: '×', budget: BUDGET.overhead, note },
    { name: `tiny: ${names[1]}`, value: median(decode), unit: '×', budget: BUDGET.overhead, note },
  );
}

/** llama-bench's prompt (pp512) and decode (tg32) rates on an LLM file, or n/a rows without it. */
function llamaBench(bench: string | null, label: string, model: string, rows: BenchRow[]): void {
  const names = [`${label}: llama-bench pp512`, `${label}: llama-bench tg32`];
  if (!bench) {
    for (const n of names) rows.push({ name: n, value: Number.NaN, unit: 'tok/s', budget: Number.NaN, kind: 'n/a', note: 'n/a (llama-bench is not in the test build: scripts/build-llama-server.sh --targets "llama-server llama-bench llama-quantize")' });
    return;
  }
  const r = spawnSync(bench, ['-m', model, '-p', '512', '-n', '32', '-t', String(THREADS), '-ngl', GPU_LAYERS < 0 ? '999' : String(GPU_LAYERS), '-r', '2', '-o', 'json'], { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`llama-bench failed (${r.status ?? r.signal}): ${(r.stderr || '').slice(-1000)}`);
  const out = JSON.parse(r.stdout) as Array<{ n_prompt: number; n_gen: number; avg_ts: number; stddev_ts: number }>;
  for (const [i, test] of [out.find((o) => o.n_prompt === 512), out.find((o) => o.n_gen === 32)].entries()) {
    rows.push({ name: names[i]!, value: test?.avg_ts ?? Number.NaN, unit: 'tok/s', budget: Number.NaN, kind: 'info', note: test ? `± ${test.stddev_ts.toFixed(1)}, ${THREADS} threads, 2 repetitions` : 'no result' });
  }
}

async function main(): Promise<void> {
  if (!(SHAPE in SHAPES)) throw new Error(`BENCH_SHAPE ${SHAPE} unknown; known: ${Object.keys(SHAPES).join(', ')}`);
  let bin = process.env.BENCH_LLAMA_BIN;
  if (!bin) {
    const build = spawnSync('bash', [join(ROOT, 'scripts', 'build-llama-server.sh'), '--print-dir'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`scripts/build-llama-server.sh --print-dir failed: ${build.stderr}`);
    bin = build.stdout.trim().split('\n').at(-1)!;
  }
  const tool = (name: string) => (existsSync(join(bin, name)) ? join(bin, name) : null);
  const server = tool('llama-server');
  if (!server) throw new Error(`no llama-server in ${bin}`);
  const scratch = mkdtempSync(join(tmpdir(), 'lens-engine-bench-'));
  const rows: BenchRow[] = [];
  try {
    if (!process.env.BENCH_SKIP_TINY) {
      const tiny = (await ensureFixtures()).endless;
      llamaBench(tool('llama-bench'), 'tiny', tiny.modelPath, rows);
      await comparePair({ label: 'tiny', model: tiny, maxTiles: 12, second: REGION, rounds: TINY_ROUNDS, maxTokens: 64, budgeted: false }, server, scratch, rows);
      await overhead(server, tiny, scratch, rows);
    }
    if (!process.env.BENCH_SKIP_REAL) {
      const t0 = performance.now();
      const real = ensureRealDimsModel({ shape: SHAPE, maxTiles: REAL_MAX_TILES, quantizer: tool('llama-quantize'), log: (l) => console.log(`  ${l}`) });
      console.log(`real-dimension pair ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${real.modelPath} (${real.llmType}), ${real.mmprojPath}`);
      const label = `${real.shape}-shaped ${real.llmType}, ≤ ${real.maxTiles} tiles${GPU_LAYERS ? ', GPU' : ''}`;
      llamaBench(tool('llama-bench'), label, real.modelPath, rows);
      await comparePair({ label, model: real, maxTiles: real.maxTiles, second: REGION, rounds: REAL_ROUNDS, maxTokens: 32, budgeted: true }, server, scratch, rows);
    }
  } finally {
    for (const side of running) await side.stop();
    rmSync(scratch, { recursive: true, force: true });
    reportBench('engine', rows);
  }
  for (const r of rows) console.log(`${r.name}: ${Number.isFinite(r.value) ? r.value.toFixed(3) : '—'} ${r.unit} ${r.note ?? ''}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
