// What the pre-flight may cost the host on any file: ≤ 200 ms and ≤ 50 MB of memory beyond what the
// process held before. Measured in fresh processes (the host's first check is a cold one) on the
// costliest headers there are: an InternVL3-14B-sized one (a 151k-token vocabulary and its merges,
// 795 tensors), 64 MiB (the header ceiling) of empty strings, and the most keys and tensors the
// reader takes. Time is the best of a few runs (the machine is shared; the best run is the one
// least disturbed), memory the worst; CPU time and the longest event-loop wait are shown.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleCheckChild, extraMiB, runCheck, writeCostlyHeaders, type CheckReport } from '../fixtures/gguf-check';
import { GENERATED, tinyModel } from './support';

const BUDGET_MS = 200;
const BUDGET_EXTRA_MIB = 50;
const RUNS = 5;

const scratch = mkdtempSync(join(tmpdir(), 'lens-gguf-budget-'));
const good = tinyModel('sentence');
const embeddingLength = (JSON.parse(readFileSync(join(GENERATED, 'sentence', 'expected.json'), 'utf8')) as { embeddingLength: number }).embeddingLength;
let childJs = '';
let files: ReturnType<typeof writeCostlyHeaders>;

async function measure(modelPath: string): Promise<CheckReport[]> {
  const runs: CheckReport[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runCheck(childJs, [modelPath, good.mmprojPath], 60_000));
  return runs;
}

function summary(runs: CheckReport[]): string {
  const best = Math.min(...runs.map((r) => r.ms ?? Infinity));
  return (
    `best ${best.toFixed(0)} ms of ${runs.map((r) => (r.ms ?? NaN).toFixed(0)).join(', ')}; CPU ${runs.map((r) => (r.cpuMs ?? NaN).toFixed(0)).join(', ')} ms; ` +
    `extra memory ${Math.max(...runs.map(extraMiB)).toFixed(1)} MiB; longest event-loop wait ${Math.max(...runs.map((r) => r.loopMaxMs ?? NaN)).toFixed(0)} ms; load average ${loadavg()[0]!.toFixed(1)}`
  );
}

function assertWithinBudget(runs: CheckReport[], outcome: CheckReport['outcome']): void {
  for (const r of runs) assert.equal(r.outcome, outcome, JSON.stringify(r));
  const best = Math.min(...runs.map((r) => r.ms ?? Infinity));
  assert.ok(best <= BUDGET_MS, `took ${summary(runs)}: over ${BUDGET_MS} ms (check whether the machine was loaded)`);
  for (const r of runs) assert.ok(extraMiB(r) <= BUDGET_EXTRA_MIB, `took ${extraMiB(r).toFixed(1)} MiB beyond the ${(r.rssBeforeKiB! / 1024).toFixed(0)} MiB held before: over ${BUDGET_EXTRA_MIB} MiB`);
}

describe(`the GGUF pre-flight stays within ${BUDGET_MS} ms and ${BUDGET_EXTRA_MIB} MB on the costliest headers`, () => {
  before(async () => {
    childJs = await bundleCheckChild(scratch);
    files = writeCostlyHeaders(scratch, embeddingLength);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('an InternVL3-14B-sized header (151 674 tokens, 151 387 merges, 795 tensors), with its mmproj: accepted', async (t) => {
    const runs = await measure(files.internvl);
    t.diagnostic(summary(runs));
    assertWithinBudget(runs, 'accepted');
  });

  it('64 MiB of empty strings, the header ceiling: walked to its end, then refused', async (t) => {
    const runs = await measure(files.strings);
    t.diagnostic(summary(runs));
    assertWithinBudget(runs, 'refused');
    // Walked all the way: what it lacks is only known at the end.
    assert.match(runs[0]!.message ?? '', /has no general\.architecture/);
  });

  it('4096 keys and 16 384 tensors, the most the reader takes: refused', async (t) => {
    const runs = await measure(files.counts);
    t.diagnostic(summary(runs));
    assertWithinBudget(runs, 'refused');
  });
});
