// The GGUF pre-flight against hostile files: thousands of mutated headers of the generated tiny
// model and mmproj (byte flips, lengths and counts set to 2^31 … 2^64−1, truncations in every
// region of the header, junk after a valid prefix), each checked in a process of its own (a child
// that aborts or hangs is a finding, not a crash of this test). Every file must be refused with a
// message that names it and the field, or accepted; a sample of the accepted ones is then loaded
// by the real llama-server, in a process of its own: it may refuse them, but one it crashes or
// hangs on is a check the pre-flight lacks.
//   LENS_GGUF_FUZZ_SEED=<n> replays another campaign.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleCheckChild, runCheck, type CheckReport } from '../fixtures/gguf-check';
import { mutations, prng, type Mutation } from '../fixtures/gguf-mutations';
import { freePort } from '../../src/engine/local/llamaServer';
import { testLlamaServerPath, tinyModel } from './support';

const SEED = Number(process.env.LENS_GGUF_FUZZ_SEED ?? 14_2);
const PER_FILE = 1000;
/** Children mostly wait on node's start-up, so one more than the cores keeps them busy. */
const PARALLEL = availableParallelism() + 1;
/** Far longer than a check takes on a loaded machine (~0.3 s): past it, a child counts as hung. */
const CHILD_DEADLINE_MS = 20_000;
const MAX_RSS_MIB = 400;
/** llama-server starts for accepted files (a deterministic sample when there are more). */
const LLAMA_SERVER_STARTS = 12;
const LLAMA_SERVER_DEADLINE_MS = 60_000;

type Role = 'model' | 'mmproj';
const SETTING: Record<Role, string> = { model: 'internvlLens.modelPath', mmproj: 'internvlLens.mmprojPath' };

interface Check extends CheckReport {
  role: Role;
  what: string;
  path: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'lens-gguf-fuzz-'));
const good = tinyModel('sentence');
const checks: Check[] = [];
let childJs = '';
let campaignMs = 0;

const failNote = (what: string) => `${what} (seed ${SEED}; replay with LENS_GGUF_FUZZ_SEED=${SEED})`;

async function check(role: Role, m: Mutation, index: number): Promise<Check> {
  const path = join(scratch, `${role}-${index}.gguf`);
  writeFileSync(path, m.bytes);
  const report = await runCheck(childJs, [role === 'model' ? path : good.modelPath, role === 'mmproj' ? path : good.mmprojPath], CHILD_DEADLINE_MS);
  return { role, what: m.what, path, ...report };
}

/** Every mutation, made as a worker asks for it (each is a whole file of a few hundred KiB). */
function* jobs(): Generator<{ role: Role; m: Mutation; index: number }> {
  for (const role of ['model', 'mmproj'] as const) {
    let index = 0;
    const source = readFileSync(role === 'model' ? good.modelPath : good.mmprojPath);
    for (const m of mutations(source, PER_FILE, SEED + (role === 'model' ? 0 : 1))) yield { role, m, index: index++ };
  }
}

async function campaign(): Promise<void> {
  const queue = jobs();
  const worker = async () => {
    for (let job = queue.next(); !job.done; job = queue.next()) {
      const c = await check(job.value.role, job.value.m, job.value.index);
      // Accepted files stay for llama-server; the rest are done with.
      if (c.outcome !== 'accepted') unlinkSync(c.path);
      checks.push(c);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

type LoadOutcome = 'loaded' | 'refused' | 'crashed' | 'hung';

/** Starts llama-server on a pair and says how that went: it loaded (/health 200), refused it (an exit), crashed (a signal) or hung. */
async function loadInLlamaServer(bin: string, modelPath: string, mmprojPath: string): Promise<{ outcome: LoadOutcome; detail: string }> {
  const port = await freePort();
  const server = spawn(bin, ['-m', modelPath, '--mmproj', mmprojPath, '-c', '2048', '-t', '1', '--host', '127.0.0.1', '--port', String(port), '--no-webui'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
  // It logs "listening on" once the model is loaded (and only then serves /health with 200).
  const listening = new Promise<void>((resolve) =>
    server.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (log.includes('listening on')) resolve();
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), LLAMA_SERVER_DEADLINE_MS)));
  try {
    const first = await Promise.race([listening.then(() => 'listening' as const), exited, deadline]);
    if (first === 'deadline') return { outcome: 'hung', detail: `neither listening nor exited after ${LLAMA_SERVER_DEADLINE_MS} ms` };
    if (first === 'listening') {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      return { outcome: health.status === 200 ? 'loaded' : 'refused', detail: `/health ${health.status}` };
    }
    const lastError = log.split('\n').filter((l) => / E |error|failed|assert/i.test(l)).slice(-2).join(' | ');
    return first.signal ? { outcome: 'crashed', detail: `${first.signal}: ${lastError}` } : { outcome: 'refused', detail: `exit ${first.code}: ${lastError}` };
  } finally {
    clearTimeout(timer);
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await exited;
    }
  }
}

describe('GGUF pre-flight under fuzzing: mutated headers of the tiny model and mmproj, each in its own process', () => {
  before(async () => {
    childJs = await bundleCheckChild(scratch);
    const started = Date.now();
    await campaign();
    campaignMs = Date.now() - started;
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it(`checks at least 2000 distinct mutations, with no abort and no hang`, (t) => {
    const by = (o: Check['outcome']) => checks.filter((c) => c.outcome === o);
    const maxRss = Math.max(...checks.map((c) => c.maxRssKiB ?? 0)) / 1024;
    t.diagnostic(
      `seed ${SEED}: ${checks.length} mutations in ${(campaignMs / 1000).toFixed(1)} s (${PARALLEL} at a time): ` +
        `${by('refused').length} refused, ${by('accepted').length} accepted, ${by('aborted').length} aborted, ${by('hung').length} hung, ` +
        `${by('threw').length} threw, ${by('no-report').length} without a report; peak RSS of a check ${maxRss.toFixed(0)} MiB; ` +
        `slowest check ${Math.max(...checks.map((c) => c.ms ?? 0)).toFixed(0)} ms`,
    );
    assert.ok(checks.length >= 2000, failNote(`only ${checks.length} mutations`));
    for (const bad of ['aborted', 'hung', 'threw', 'no-report'] as const) {
      const found = by(bad);
      assert.equal(found.length, 0, failNote(`${found.length} checks ${bad}, e.g. ${JSON.stringify(found.slice(0, 3))}`));
    }
  });

  it(`keeps every check under ${MAX_RSS_MIB} MiB of peak memory`, () => {
    const worst = checks.reduce((a, b) => ((b.maxRssKiB ?? 0) > (a.maxRssKiB ?? 0) ? b : a));
    assert.ok((worst.maxRssKiB ?? Infinity) <= MAX_RSS_MIB * 1024, failNote(`peak RSS ${worst.maxRssKiB} KiB on ${worst.role} ${worst.what}`));
  });

  it('refuses with a message that names the file, its setting and the field', () => {
    for (const c of checks.filter((x) => x.outcome === 'refused')) {
      const context = failNote(`${c.role} ${c.what}: ${c.message}`);
      assert.equal(c.code, 'model-file-invalid', context);
      assert.equal(c.setting, SETTING[c.role], context);
      assert.ok(c.message?.startsWith(`The ${c.role} file ${c.path} `), context);
      // A field and its offset; or, for a key or tensor that is missing or names the wrong thing, that key or tensor.
      assert.match(c.message ?? '', /at byte \d+|its tensors need \d+|lacks the metadata key [\w.]+|has no [\w.]+ tensor|has no general\.architecture|its architecture is \S+|projection_dim is \d+|projector type \S+/, context);
      assert.ok(c.message!.includes(SETTING[c.role]), context);
    }
  });

  it(`hands llama-server (up to ${LLAMA_SERVER_STARTS} starts, in its own process) nothing it crashes or hangs on`, async (t) => {
    const bin = testLlamaServerPath();
    const control = await loadInLlamaServer(bin, good.modelPath, good.mmprojPath);
    assert.equal(control.outcome, 'loaded', `the untouched pair did not load: ${control.detail}`);
    const accepted = checks.filter((c) => c.outcome === 'accepted').sort((a, b) => a.path.localeCompare(b.path));
    const rnd = prng(SEED);
    const sample: Check[] = [];
    while (sample.length < LLAMA_SERVER_STARTS && accepted.length > 0) sample.push(accepted.splice(rnd.int(accepted.length), 1)[0]!);
    const outcomes: Record<LoadOutcome, string[]> = { loaded: [], refused: [], crashed: [], hung: [] };
    for (const c of sample) {
      const r = await loadInLlamaServer(bin, c.role === 'model' ? c.path : good.modelPath, c.role === 'mmproj' ? c.path : good.mmprojPath);
      outcomes[r.outcome].push(`${c.role} ${c.what}: ${r.detail}`);
    }
    t.diagnostic(
      `llama-server on ${sample.length} of the accepted files: ${outcomes.loaded.length} loaded, ${outcomes.refused.length} refused, ` +
        `${outcomes.crashed.length} crashed, ${outcomes.hung.length} hung`,
    );
    for (const line of [...outcomes.refused, ...outcomes.crashed, ...outcomes.hung]) t.diagnostic(`  ${line}`);
    assert.equal(outcomes.loaded.length + outcomes.refused.length + outcomes.crashed.length + outcomes.hung.length, sample.length);
    // llama-server may refuse a file (a clean error at load); one it crashes or hangs on is a check
    // the pre-flight lacks (as the scale factor that does not divide the patch grid was).
    assert.deepEqual([...outcomes.crashed, ...outcomes.hung], [], failNote('the pre-flight let through files that crash or hang llama-server'));
  });
});
