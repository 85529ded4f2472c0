// The small infrastructure every module shares (src/util/, writeFileAtomic in src/files.ts): one
// serial queue, one sleep that an abort ends, one atomic write, one way to say what an error says.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEMPORARY_FILE, writeFileAtomic } from '../../src/files';
import { errorMessage } from '../../src/util/errorMessage';
import { SerialQueue } from '../../src/util/serialQueue';
import { sleep } from '../../src/util/sleep';

const dir = mkdtempSync(join(tmpdir(), 'lens-util-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A promise and the functions that settle it. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('SerialQueue', () => {
  it('runs tasks one at a time in the order added, past a failing one, and counts who waits', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const gate = deferred();
    const a = q.run(async () => {
      log.push('a start');
      await gate.promise;
      log.push('a end');
      return 'a';
    });
    const b = q.run(() => {
      log.push('b');
      throw new Error('b failed');
    });
    const c = q.run(async () => {
      log.push('c');
      return 'c';
    });
    assert.equal(q.pending, 3);
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(log, ['a start'], 'b and c wait for a');
    assert.equal(q.waiting, 2);
    gate.resolve();
    assert.equal(await a, 'a');
    await assert.rejects(b, /b failed/);
    assert.equal(await c, 'c');
    await q.idle();
    assert.deepEqual(log, ['a start', 'a end', 'b', 'c']);
    assert.deepEqual([q.waiting, q.pending], [0, 0]);
  });

  it('idle() waits for every task added so far', async () => {
    const q = new SerialQueue();
    const gate = deferred();
    let done = false;
    void q.run(() => gate.promise.then(() => (done = true)));
    const idle = q.idle().then(() => done);
    gate.resolve();
    assert.equal(await idle, true);
  });
});

describe('sleep', () => {
  it('ends when its signal aborts, long before its time', async () => {
    const abort = new AbortController();
    const t0 = Date.now();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept;
    assert.ok(Date.now() - t0 < 1000, `ended ${Date.now() - t0} ms after the abort`);
    // Already aborted: at once.
    await sleep(60_000, abort.signal);
  });

  it('without a signal, waits at least its time', async () => {
    const t0 = performance.now();
    await sleep(30);
    assert.ok(performance.now() - t0 >= 29, `slept ${performance.now() - t0} ms`);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole (with or without fsync) and leaves no temporary file', async () => {
    const file = join(dir, 'atomic.json');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, 'new');
    assert.equal(readFileSync(file, 'utf8'), 'new');
    await writeFileAtomic(file, new Uint8Array([0x7b, 0x7d]), { fsync: true });
    assert.equal(readFileSync(file, 'utf8'), '{}');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('atomic')), ['atomic.json']);
  });

  it('lets a writer fill the temporary file; when it fails, the old file stays and the temporary one is gone', async () => {
    const file = join(dir, 'filled.txt');
    writeFileSync(file, 'old');
    let tmpName = '';
    await writeFileAtomic(file, async (tmp) => {
      tmpName = tmp;
      writeFileSync(tmp, 'filled');
    });
    assert.equal(readFileSync(file, 'utf8'), 'filled');
    assert.ok(TEMPORARY_FILE.test(tmpName), `${tmpName} is named as TEMPORARY_FILE says`);
    await assert.rejects(
      writeFileAtomic(file, async (tmp) => {
        writeFileSync(tmp, 'half');
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.equal(readFileSync(file, 'utf8'), 'filled');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('filled')), ['filled.txt']);
  });
});

describe('errorMessage', () => {
  it('is an Error’s message, or the text of anything else thrown', () => {
    assert.equal(errorMessage(new RangeError('out of range')), 'out of range');
    assert.equal(errorMessage('plain string'), 'plain string');
    assert.equal(errorMessage(42), '42');
    assert.equal(errorMessage(undefined), 'undefined');
  });
});
