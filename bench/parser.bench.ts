// The grounding parser (src/grounding/parse.ts) on hostile model output, the inputs of
// test/fixtures/grounding-adversarial.ts: each at 256 KiB and 1 MiB, parsed whole and streamed in
// 4-character chunks as the host reads an answer, best of 5. Budgets (issue 14): the worst input
// at 1 MiB parsed whole in ≤ 150 ms and streamed in ≤ 300 ms. The reference for "linear" is the
// input size itself: four times the text must cost about four times the time (a quadratic reader
// takes sixteen).
//   node --import tsx bench/parser.bench.ts
import { parseRegions, RegionStream } from '../src/grounding';
import { ADVERSARIAL_INPUTS } from '../test/fixtures/grounding-adversarial';
import { type BenchRow, reportBench } from './report';

const KiB = 1024;
const SMALL = 256 * KiB;
const LARGE = 1024 * KiB;
const WHOLE_BUDGET_MS = 150;
const STREAMED_BUDGET_MS = 300;
/** Above 16× (quadratic) by a margin, above 4× (linear) by what noise adds to a short run. */
const GROWTH_BUDGET = 6;
const RUNS = 5;

function best(run: () => void): number {
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    run();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

function streamed(text: string): void {
  const stream = new RegionStream();
  for (let i = 0; i < text.length; i += 4) stream.push(text.slice(i, i + 4));
  stream.end();
}

interface Timing {
  name: string;
  whole: [small: number, large: number];
  streamed: [small: number, large: number];
}

const timings: Timing[] = [];
console.log(`${'input'.padEnd(52)} ${'whole 256K'.padStart(10)} ${'1M'.padStart(7)} ${'streamed 256K'.padStart(13)} ${'1M'.padStart(7)}`);
for (const input of ADVERSARIAL_INPUTS) {
  const small = input.build(SMALL);
  const large = input.build(LARGE);
  const t: Timing = {
    name: input.name,
    whole: [best(() => parseRegions(small)), best(() => parseRegions(large))],
    streamed: [best(() => streamed(small)), best(() => streamed(large))],
  };
  timings.push(t);
  const ms = (v: number, w: number) => `${v.toFixed(1)}`.padStart(w);
  console.log(`${input.name.slice(0, 52).padEnd(52)} ${ms(t.whole[0], 10)} ${ms(t.whole[1], 7)} ${ms(t.streamed[0], 13)} ${ms(t.streamed[1], 7)}`);
}

const worst = (key: 'whole' | 'streamed') => timings.reduce((a, b) => (b[key][1] > a[key][1] ? b : a));
const worstWhole = worst('whole');
const worstStreamed = worst('streamed');
const sum = (i: 0 | 1) => timings.reduce((s, t) => s + t.whole[i] + t.streamed[i], 0);
const growth = sum(1) / sum(0);
const steepest = timings.reduce((a, b) => (b.whole[1] + b.streamed[1]) / (b.whole[0] + b.streamed[0]) > (a.whole[1] + a.streamed[1]) / (a.whole[0] + a.streamed[0]) ? b : a);
const steepestGrowth = (steepest.whole[1] + steepest.streamed[1]) / (steepest.whole[0] + steepest.streamed[0]);
const round = (v: number) => Number(v.toFixed(1));

const rows: BenchRow[] = [
  {
    name: 'parser: worst hostile 1 MiB answer, parsed whole',
    value: round(worstWhole.whole[1]),
    unit: 'ms',
    budget: WHOLE_BUDGET_MS,
    note: `${worstWhole.name}; 256 KiB: ${worstWhole.whole[0].toFixed(1)} ms; ${timings.length} hostile inputs`,
  },
  {
    name: 'parser: worst hostile 1 MiB answer, streamed in 4-character chunks',
    value: round(worstStreamed.streamed[1]),
    unit: 'ms',
    budget: STREAMED_BUDGET_MS,
    note: `${worstStreamed.name}; 256 KiB: ${worstStreamed.streamed[0].toFixed(1)} ms`,
  },
  {
    name: 'parser: time at 1 MiB ÷ time at 256 KiB, all hostile inputs (linear: 4×)',
    value: Number(growth.toFixed(3)),
    unit: '×',
    budget: GROWTH_BUDGET,
    note: `${sum(0).toFixed(0)} ms → ${sum(1).toFixed(0)} ms, whole and streamed; quadratic would be 16×`,
  },
  {
    name: 'parser: the same, steepest single input',
    value: Number(steepestGrowth.toFixed(3)),
    unit: '×',
    budget: Number.NaN,
    kind: 'info',
    note: steepest.name,
  },
];
reportBench('parser', rows);
if (rows.some((r) => r.kind !== 'info' && r.value > r.budget)) process.exitCode = 1;
