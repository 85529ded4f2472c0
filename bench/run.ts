// `npm run bench`: builds what ships (production bundles, this machine's VSIX, the tiny models),
// runs every benchmark one after another, each in its own process, and prints one table —
// measured value, budget, pass/fail — which it also writes to bench/results.md.
//   npm run bench                      every benchmark
//   npm run bench -- engine overlay    only those
// Each benchmark hands its rows over through bench/report.ts (INTERNVL_LENS_BENCH_JSON); its own
// output goes to test-results/bench/<name>.log. Heavy: run it alone (flock /tmp/lens-heavy.lock).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchRow, withinBudget } from './report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOGS = join(ROOT, 'test-results', 'bench');

const BENCHES = [
  { name: 'engine', file: 'engine.bench.ts', what: 'Lens local vs llama-server driven directly (tiny and InternVL3-1B-shaped pairs), llama-bench' },
  { name: 'batch', file: 'batch.bench.ts', what: 'internvl-lens batch: 24 images on the server\'s slots vs one at a time, images per minute' },
  { name: 'tiling', file: 'tiling.bench.ts', what: 'image tokens vs llama.cpp\'s default tiling' },
  { name: 'capture', file: 'capture.bench.ts', what: 'capture latency, keypress → image in the chat' },
  { name: 'overlay', file: 'overlay.bench.ts', what: 'overlay render, 500 regions' },
  { name: 'parser', file: 'parser.bench.ts', what: 'grounding parser on hostile 1 MiB answers, whole and streamed' },
  { name: 'activation', file: 'activation.bench.ts', what: 'activation in code-server, host bundle size' },
  { name: 'vsix', file: 'vsix.bench.ts', what: 'VSIX size per target' },
  { name: 'video', file: 'video.bench.ts', what: 'Explain this video: 8 frames from a 60 s 1080p MP4; Record Screen CPU at 2 fps' },
  { name: 'gguf', file: 'gguf.bench.ts', what: 'GGUF pre-flight on the costliest headers vs node-llama-cpp\'s reader' },
] as const;

interface Row extends BenchRow {
  bench: string;
}

function step(label: string, args: string[]): void {
  process.stdout.write(`▶ ${label} … `);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    console.log('FAILED');
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function format(value: number, unit: string): string {
  const digits = unit === '×' ? 3 : Number.isInteger(value) ? 0 : value < 10 ? 2 : 1;
  return `${value.toFixed(digits)}${unit === '×' ? '×' : ` ${unit}`}`;
}

function main(): void {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  const chosen = BENCHES.filter((b) => only.length === 0 || only.includes(b.name));

  // What ships: minified bundles, and the VSIX the capture and activation benchmarks install.
  step('build (production)', ['scripts/build.mjs', '--production']);
  step('package this machine\'s VSIX', ['scripts/package.mjs', '--llama-cpp', 'test']);
  step('tiny models', ['--import', 'tsx', 'test/fixtures/generate.ts']);

  mkdirSync(LOGS, { recursive: true });
  const rows: Row[] = [];
  const started = Date.now();
  for (const b of chosen) {
    const json = join(LOGS, `${b.name}.jsonl`);
    rmSync(json, { force: true });
    process.stdout.write(`▶ ${b.name}: ${b.what} … `);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', b.file)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, INTERNVL_LENS_BENCH_JSON: json },
      maxBuffer: 256 * 1024 * 1024,
      timeout: 20 * 60_000,
    });
    writeFileSync(join(LOGS, `${b.name}.log`), `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
    const got: Row[] = existsSync(json) ? readFileSync(json, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row) : [];
    console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s, ${got.length} figures${r.status === 0 ? '' : ` (exit ${r.status ?? r.signal})`}`);
    rows.push(...got);
    // A benchmark that failed, or handed over nothing, is a failed row of its own.
    if (r.status !== 0 && got.length === 0) {
      rows.push({ bench: b.name, name: `${b.name}: did not finish (exit ${r.status ?? r.signal}; see test-results/bench/${b.name}.log)`, value: Number.NaN, unit: '', budget: Number.NaN });
    }
  }

  const header = ['benchmark', 'measured', 'budget', 'result', 'compared with / notes'];
  const table = rows.map((r) => {
    const ok = Number.isFinite(r.value) && withinBudget(r);
    const result = r.kind === 'n/a' ? 'n/a' : r.kind === 'info' && ok ? 'shown' : ok ? 'pass' : 'FAIL';
    return [r.name, Number.isFinite(r.value) ? format(r.value, r.unit) : '—', Number.isFinite(r.budget) ? `${r.kind === 'min' ? '≥' : '≤'} ${format(r.budget, r.unit)}` : '—', result, r.note ?? ''];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const failed = table.filter((t) => t[3] === 'FAIL').length;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;
  const budgeted = table.filter((t) => t[3] === 'pass' || t[3] === 'FAIL').length;
  const summary = `${budgeted - failed} of ${budgeted} within budget${failed ? `, ${failed} FAILED` : ''} (${((Date.now() - started) / 60_000).toFixed(1)} min)`;
  console.log(`\n${line(header)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}\n${table.map(line).join('\n')}\n\n${summary}`);

  const md = [
    '# Benchmark results',
    '',
    `\`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine}.`,
    'Each benchmark\'s full output: `test-results/bench/<name>.log`. Ratios are measured side by side in the same run.',
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 1 || i === 2 ? '---:' : '---')).join(' | ')} |`,
    ...table.map((t) => `| ${t.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
    summary,
    '',
  ].join('\n');
  writeFileSync(join(ROOT, 'bench', 'results.md'), md);
  console.log('written to bench/results.md');
  process.exitCode = failed ? 1 : 0;
}

main();
