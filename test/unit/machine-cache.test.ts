// scripts/machine-cache.sh: the machine cache and `.tools`, and cache entries that are keyed,
// locked, never used half-written, and rebuilt when a run was killed. Driven with small fake
// builds (a folder of files), never code-server or llama.cpp.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../e2e/harness';

const SCRIPT = join(REPO_ROOT, 'scripts', 'machine-cache.sh');
const work = mkdtempSync(join(tmpdir(), 'lens-machine-cache-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => {
  const d = join(work, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/**
 * Bash with the cache functions loaded and a fake entry: `build` writes payload (and counts its
 * runs in $COUNT; FAIL_AFTER_HALF=1 makes it fail halfway), `check` wants both halves.
 */
const PRELUDE = `
set -euo pipefail
. ${JSON.stringify(SCRIPT)}
check() { [ -f "$1/half-1" ] && [ -f "$1/half-2" ]; }
build() {
  echo run >> "$COUNT"
  [ ! -f "$1/half-1" ] || echo resumed > "$1/resumed"
  echo "$PAYLOAD" > "$1/half-1"
  sleep "\${BUILD_SLEEP:-0}"
  [ "\${FAIL_AFTER_HALF:-0}" != 1 ] || { echo "fake build failed halfway" >&2; false; }
  echo "$PAYLOAD" > "$1/half-2"
}
`;
function bash(script: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', ['-c', PRELUDE + script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const runs = (count: string) => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0);

describe('machine cache', () => {
  it('links a missing .tools to the machine cache, and leaves one that exists alone', () => {
    const root = fresh('repo');
    const cache = join(fresh('cache'), 'nested');
    const r = bash(`machine_cache_init ${JSON.stringify(root)}; echo "$MACHINE_CACHE|$TOOLS_DIR"`, { INTERNVL_LENS_CACHE: cache });
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.trim(), `${cache}|${root}/.tools`);
    assert.equal(readlinkSync(join(root, '.tools')), join(cache, 'tools'));

    const own = fresh('repo');
    mkdirSync(join(own, '.tools', 'code-server'), { recursive: true });
    assert.equal(bash(`machine_cache_init ${JSON.stringify(own)}`, { INTERNVL_LENS_CACHE: cache }).status, 0);
    assert.ok(existsSync(join(own, '.tools', 'code-server')), 'its own .tools folder is used as it is');
  });

  it('refuses a cache it cannot write and a .tools link to nowhere, saying what to do', () => {
    const root = fresh('repo');
    const file = join(fresh('x'), 'a-file');
    writeFileSync(file, '');
    const r = bash(`machine_cache_init ${JSON.stringify(root)}`, { INTERNVL_LENS_CACHE: join(file, 'cache') });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /INTERNVL_LENS_CACHE=.* cannot be created or written: point it at a writable folder/);

    const dangling = fresh('repo');
    const r2 = bash(`ln -s ${JSON.stringify(join(work, 'nowhere'))} ${JSON.stringify(join(dangling, '.tools'))}; machine_cache_init ${JSON.stringify(dangling)}`, { INTERNVL_LENS_CACHE: fresh('cache') });
    assert.notEqual(r2.status, 0);
    assert.match(r2.out, /\.tools is a link to .*nowhere, which does not exist: remove the link/);
  });

  it('builds an entry once per key, in a partial folder renamed into place', () => {
    const d = fresh('entries');
    const dir = join(d, 'tool');
    const count = join(d, 'count');
    const env = { COUNT: count, PAYLOAD: 'v1' };
    assert.equal(bash(`cache_entry ${dir} "key 1" check build`, env).status, 0);
    assert.equal(readFileSync(join(dir, '.complete'), 'utf8'), 'key 1\n');
    assert.equal(bash(`cache_entry ${dir} "key 1" check build`, env).status, 0);
    assert.equal(runs(count), 1, 'a finished entry is not built again');
    assert.equal(bash(`cache_entry ${dir} "key 2" check build`, { ...env, PAYLOAD: 'v2' }).status, 0);
    assert.equal(runs(count), 2, 'another key builds again');
    assert.equal(readFileSync(join(dir, 'half-2'), 'utf8'), 'v2\n');
    assert.deepEqual([existsSync(`${dir}.partial`), existsSync(`${dir}.old`)], [false, false]);
  });

  it('a build that dies halfway leaves the finished entry as it was, and the next run builds afresh', () => {
    const d = fresh('entries');
    const dir = join(d, 'tool');
    const count = join(d, 'count');
    assert.equal(bash(`cache_entry ${dir} k1 check build`, { COUNT: count, PAYLOAD: 'good' }).status, 0);
    const r = bash(`cache_entry ${dir} k2 check build`, { COUNT: count, PAYLOAD: 'broken', FAIL_AFTER_HALF: '1' });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /fake build failed halfway/);
    assert.equal(readFileSync(join(dir, 'half-1'), 'utf8'), 'good\n', 'the entry in place is untouched');
    assert.equal(readFileSync(join(dir, '.complete'), 'utf8'), 'k1\n');
    assert.equal(bash(`cache_entry ${dir} k2 check build`, { COUNT: count, PAYLOAD: 'fixed' }).status, 0);
    assert.equal(readFileSync(join(dir, 'half-1'), 'utf8'), 'fixed\n');
    assert.equal(existsSync(join(dir, 'resumed')), false, 'a fresh partial folder, not the dead one');
  });

  it('in place: a half-built entry has no marker, is not used, and the next run resumes it', () => {
    const d = fresh('entries');
    const dir = join(d, 'build');
    const count = join(d, 'count');
    assert.notEqual(bash(`cache_entry ${dir} k check build in-place`, { COUNT: count, PAYLOAD: 'p', FAIL_AFTER_HALF: '1' }).status, 0);
    assert.equal(existsSync(join(dir, '.complete')), false, 'no marker on a half-built entry');
    assert.notEqual(bash(`cache_entry_ready ${dir} k check`).status, 0, 'and it does not count as ready');
    assert.equal(bash(`cache_entry ${dir} k check build in-place`, { COUNT: count, PAYLOAD: 'p' }).status, 0);
    assert.equal(readFileSync(join(dir, 'resumed'), 'utf8'), 'resumed\n', 'the second run continued in the same folder');
    assert.equal(readFileSync(join(dir, '.complete'), 'utf8'), 'k\n');
  });

  it('accepts an entry made before markers when its check passes, and writes nothing to it', () => {
    const d = fresh('entries');
    const dir = join(d, 'legacy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'half-1'), 'old');
    writeFileSync(join(dir, 'half-2'), 'old');
    const count = join(d, 'count');
    assert.equal(bash(`cache_entry ${dir} k check build`, { COUNT: count, PAYLOAD: 'new' }).status, 0);
    assert.equal(runs(count), 0);
    assert.equal(existsSync(join(dir, '.complete')), false);
    assert.equal(existsSync(`${dir}.lock`), false, 'not even a lock file beside it');
  });

  it('two runs at once build an entry once: the second waits for the first', async () => {
    const d = fresh('entries');
    const dir = join(d, 'shared');
    const count = join(d, 'count');
    const start = () =>
      new Promise<{ status: number | null; out: string }>((resolve) => {
        const child = spawn('bash', ['-c', PRELUDE + `cache_entry ${dir} k check build`], { env: { ...process.env, COUNT: count, PAYLOAD: 'x', BUILD_SLEEP: '1' } });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (status) => resolve({ status, out }));
      });
    const results = await Promise.all([start(), start()]);
    assert.deepEqual(results.map((r) => r.status), [0, 0], results.map((r) => r.out).join('\n'));
    assert.equal(runs(count), 1, 'built once');
    assert.ok(results.some((r) => /waiting for another run building shared/.test(r.out)), 'the second said why it waited');
  });
});
