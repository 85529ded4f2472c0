// scripts/test.mjs itself: a rejection nobody handles fails the run, a hung test is killed at its
// timeout, and the last line counts both. Runs the runner on test files written to a temporary folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../e2e/harness';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FILES = {
  'pass.test.ts': `import { it } from 'node:test';\nit('passes', () => {});\n`,
  'leak.test.ts': `import { it } from 'node:test';\nit('passes, then leaks a rejection', () => { setTimeout(() => void Promise.reject(new Error('leaked on purpose')), 10); });\n`,
  'hang.test.ts': `import { it } from 'node:test';\nit('hangs', async () => { setInterval(() => {}, 1000); await new Promise(() => {}); });\n`,
} as const;

/** Runs `node scripts/test.mjs unit` on a folder holding `files`, with every timeout at `timeoutS`. */
function runRunner(files: ReadonlyArray<keyof typeof FILES>, timeoutS: number) {
  const dir = mkdtempSync(join(tmpdir(), 'lens-runner-'));
  dirs.push(dir);
  for (const f of files) writeFileSync(join(dir, f), FILES[f]);
  const env: NodeJS.ProcessEnv = { ...process.env, INTERNVL_LENS_TEST_DIR: dir, INTERNVL_LENS_TEST_TIMEOUT_S: String(timeoutS) };
  delete env.NODE_TEST_CONTEXT; // or the inner node --test reports to this one instead of running its reporters
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'test.mjs'), 'unit'], { env, encoding: 'utf8', timeout: 50_000 });
  const out = `${r.stdout}${r.stderr}`;
  return { status: r.status, out, last: out.trim().split('\n').at(-1), seconds: (Date.now() - started) / 1000 };
}

describe('the test runner', () => {
  it('passes a clean run', () => {
    const r = runRunner(['pass.test.ts'], 20);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.last, '1 passed, 0 failed');
  });

  it('fails a run where a test file leaves a promise rejection unhandled, and says where', () => {
    const r = runRunner(['pass.test.ts', 'leak.test.ts'], 20);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /✗ unit: unhandled rejection in .*leak\.test\.ts: Error: leaked on purpose/);
    const [, passed, failed] = /^(\d+) passed, (\d+) failed$/.exec(r.last ?? '') ?? [];
    assert.equal(passed, '2', r.last);
    assert.ok(Number(failed) >= 1, `the rejection is counted in the last line: ${r.last}`);
  });

  it('kills a hung test at its timeout and counts it as failed', () => {
    // 10 s, not less: on Node 20 the timeout bounds each file too, and a loaded 2-core machine
    // took over 2 s just to load pass.test.ts through tsx (a CI-like run counted it as failed).
    const r = runRunner(['pass.test.ts', 'hang.test.ts'], 10);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /✗ .*hang\.test\.ts.*timed out after 10000ms/);
    assert.match(r.last ?? '', /^1 passed, [1-9]\d* failed$/);
    assert.ok(r.seconds < 45, `over in ${r.seconds} s, not hung`);
  });
});
