// The one hook every benchmark uses to hand its figures to `npm run bench` (bench/run.ts): when
// INTERNVL_LENS_BENCH_JSON names a file, each row is appended to it as a JSON line.
import { appendFileSync } from 'node:fs';

export interface BenchRow {
  /** What was measured, e.g. "engine ÷ binding TTFT, 800×600". */
  name: string;
  value: number;
  /** "ms", "×", "tokens", "MiB", … */
  unit: string;
  budget: number;
  /**
   * "max": the value must not exceed the budget (the default); "min": it must reach it; "info": a
   * figure shown beside a budgeted one, with no budget of its own (budget NaN); "n/a": a figure that
   * cannot be measured yet, `note` says why (shown, counted neither way).
   */
  kind?: 'max' | 'min' | 'info' | 'n/a';
  /** What the value is compared with, e.g. "binding called directly, same run". */
  note?: string;
}

export function withinBudget(row: BenchRow): boolean {
  if (row.kind === 'info' || row.kind === 'n/a') return true;
  return row.kind === 'min' ? row.value >= row.budget : row.value <= row.budget;
}

/** Appends `rows` (from benchmark `bench`) to $INTERNVL_LENS_BENCH_JSON; does nothing without it. */
export function reportBench(bench: string, rows: BenchRow[]): void {
  const file = process.env.INTERNVL_LENS_BENCH_JSON;
  if (!file) return;
  appendFileSync(file, rows.map((r) => `${JSON.stringify({ bench, ...r })}\n`).join(''));
}
