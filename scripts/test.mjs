#!/usr/bin/env node
// Runs the test suites and ends with one line: "N passed, N failed".
//   node scripts/test.mjs all | unit | integration | webview | e2e
// "all" (npm test) also prepares everything a fresh machine lacks: system packages and
// code-server (scripts/install-test-deps.sh), llama.cpp's llama-server built from the source
// node-llama-cpp ships (scripts/build-llama-server.sh, cached in .tools/), the build, the VSIX and
// the generated tiny models.
//
// Every suite runs with a timeout (node --test --test-timeout; on Node 20 it bounds each test and
// each test file as a whole, so a hung file is killed and counted as failed) and with
// scripts/test-preload.mjs in every test process: an unhandled rejection or an uncaught exception
// anywhere counts as a failure of its own. Knobs (for the runner's own test and slow machines):
//   INTERNVL_LENS_TEST_TIMEOUT_S  one timeout for every suite, in seconds
//   INTERNVL_LENS_TEST_DIR        run the *.test.ts files of this folder as the suite (no preparations)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const which = process.argv[2] ?? 'all';
const SUITES = ['unit', 'integration', 'webview', 'e2e'];
const suites = which === 'all' ? SUITES : [which];
/** Seconds one test, or one test file as a whole, may take before it is killed and counted as failed. */
const SUITE_TIMEOUT_S = { unit: 60, webview: 180, integration: 900, e2e: 900 };
const timeoutOverride = process.env.INTERNVL_LENS_TEST_TIMEOUT_S ? Number(process.env.INTERNVL_LENS_TEST_TIMEOUT_S) : undefined;
if (timeoutOverride !== undefined && !(timeoutOverride > 0)) {
  console.error(`INTERNVL_LENS_TEST_TIMEOUT_S must be a number of seconds, not ${JSON.stringify(process.env.INTERNVL_LENS_TEST_TIMEOUT_S)}`);
  process.exit(2);
}
const testDir = process.env.INTERNVL_LENS_TEST_DIR;
if (!suites.every((s) => SUITES.includes(s))) {
  console.error(`usage: node scripts/test.mjs all|${SUITES.join('|')}`);
  process.exit(2);
}

function run(cmd, args, opts = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return { status: r.status ?? 1, seconds: (Date.now() - started) / 1000 };
}

function step(name, cmd, args) {
  console.log(`\n▶ ${name}`);
  const r = run(cmd, args);
  console.log(`  ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status})`} in ${r.seconds.toFixed(1)} s`);
  return r.status === 0;
}

function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.ts')) out.push(relative(root, p));
    }
  };
  walk(testDir ?? join(root, 'test', dir));
  return out.sort();
}

const preparations = [];
const needsBuild = !testDir && suites.some((s) => s !== 'unit');
// Chromium (webview, e2e) and code-server (e2e) come from the install script.
if (!testDir && (suites.includes('e2e') || suites.includes('webview'))) preparations.push(['system packages and code-server', 'bash', ['scripts/install-test-deps.sh']]);
// Integration and e2e tests run the real llama-server on the tiny models.
if (!testDir && (suites.includes('integration') || suites.includes('e2e'))) preparations.push(['llama-server (llama.cpp, built once per machine)', 'bash', ['scripts/build-llama-server.sh']]);
if (needsBuild) preparations.push(['build', process.execPath, ['scripts/build.mjs']]);
if (!testDir && suites.includes('e2e')) preparations.push(['package VSIX', process.execPath, ['scripts/package.mjs', '--llama-cpp', 'test']]);
if (needsBuild) preparations.push(['tiny models', process.execPath, ['--import', 'tsx', 'test/fixtures/generate.ts']]);

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
let prepared = true;
for (const [name, cmd, args] of preparations) {
  if (!step(name, cmd, args)) {
    prepared = false;
    totals.failed++;
    failures.push(`preparation: ${name}`);
    break;
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'internvl-lens-test-'));
for (const suite of prepared ? suites : []) {
  const files = testFiles(suite);
  if (files.length === 0) {
    console.log(`\n▶ ${suite}: no test files`);
    continue;
  }
  const countsFile = join(scratch, `${suite}.json`);
  const faultsFile = join(scratch, `${suite}.faults.jsonl`);
  const timeoutS = timeoutOverride ?? SUITE_TIMEOUT_S[suite];
  const r = run(process.execPath, [
    '--import', 'tsx',
    '--import', join(root, 'scripts', 'test-preload.mjs'),
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${Math.round(timeoutS * 1000)}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts', 'count-reporter.mjs')}`, `--test-reporter-destination=${countsFile}`,
    ...files,
  ], { env: { ...process.env, INTERNVL_LENS_TEST_SUITE: suite, INTERNVL_LENS_TEST_FAULTS: faultsFile } });
  let counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  try {
    counts = JSON.parse(readFileSync(countsFile, 'utf8'));
  } catch {
    counts.failed = 1;
    counts.failures = [`${suite}: the test runner produced no results (exit ${r.status})`];
  }
  // Each unhandled rejection or uncaught exception the preload saw is one more failure.
  const faults = existsSync(faultsFile) ? readFileSync(faultsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
  for (const f of faults) {
    counts.failed++;
    counts.failures.push(`${suite}: ${f.kind} in ${relative(root, f.file) || f.file}: ${f.message}`);
  }
  if (r.status !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.failures.push(`${suite}: the test runner exited with ${r.status}`);
  }
  console.log(`\n${suite}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${r.seconds.toFixed(1)} s; timeout ${timeoutS} s per test and per file)`);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
  failures.push(...counts.failures);
}

if (failures.length) console.log(`\nFailures:\n${failures.map((f) => `  ✗ ${f}`).join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed > 0 ? 1 : 0);
