// waitFor: the tests' one poll with a deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../fixtures/wait';

describe('waitFor', () => {
  it('returns the first ready value', async () => {
    let n = 0;
    assert.equal(await waitFor('the third poll', () => (++n === 3 ? `poll ${n}` : undefined), { intervalMs: 1 }), 'poll 3');
    assert.equal(await waitFor('a true check', async () => true), true);
  });

  it('fails at its deadline with what it waited for and the last error', async () => {
    const started = Date.now();
    let n = 0;
    await assert.rejects(
      waitFor('the moon to rise', () => {
        if (++n % 2) throw new Error(`not yet (${n})`);
        return false;
      }, { timeoutMs: 120, intervalMs: 10 }),
      (err: Error) => /^timed out after 120 ms waiting for the moon to rise \(last error: not yet \(\d+\)\)$/.test(err.message),
    );
    const took = Date.now() - started;
    assert.ok(took >= 120 && took < 1000, `gave up at its deadline (${took} ms)`);
    assert.ok(n > 3, `polled until then (${n} polls)`);
  });
});
