// The worker's token stream: the first token at once, then batches sent from the token callback
// that finds them due; a timer only when the stream pauses.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { type BatchClock, TokenBatcher } from '../../src/worker/tokenBatcher';

/** A clock and timer queue the test moves by hand; counts the timers that fired. */
function manualClock(): BatchClock & { advance: (ms: number) => void; fired: number; pending: () => number } {
  let t = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; run: () => void }>();
  const clock = {
    fired: 0,
    now: () => t,
    setTimeout: (run: () => void, ms: number) => {
      const id = nextId++;
      timers.set(id, { at: t + ms, run });
      return id;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    pending: () => timers.size,
    advance(ms: number) {
      const end = t + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        t = due[1].at;
        clock.fired++;
        due[1].run();
      }
      t = end;
    },
  };
  return clock;
}

describe('TokenBatcher', () => {
  it('sends the first token at once and a fast stream in batches no timer has to send', () => {
    const clock = manualClock();
    const sent: { text: string; tokens: number; at: number }[] = [];
    const b = new TokenBatcher((text, tokens) => sent.push({ text, tokens, at: clock.now() }), 50, clock);
    b.push('a');
    assert.deepEqual(sent, [{ text: 'a', tokens: 1, at: 0 }], 'the first token is not held back');
    // 1000 tokens a second for 200 ms.
    for (let i = 1; i <= 200; i++) {
      clock.advance(1);
      b.push('x');
    }
    b.flush();
    assert.equal(clock.fired, 0, 'no timer fired while tokens kept coming');
    assert.equal(clock.pending(), 0, 'no timer left behind');
    assert.equal(sent.map((s) => s.text).join(''), `a${'x'.repeat(200)}`);
    assert.equal(sent.reduce((n, s) => n + s.tokens, 0), 201);
    assert.equal(b.sentTokens, 201);
    // Batches at 50, 100, 150, 200 ms (the last by the final flush): 5 messages, not 201.
    assert.deepEqual(sent.map((s) => s.at), [0, 50, 100, 150, 200]);
  });

  it('sends a slow model\'s tokens one by one', () => {
    const clock = manualClock();
    const sent: string[] = [];
    const b = new TokenBatcher((text) => sent.push(text), 50, clock);
    for (const t of ['one', ' two', ' three', ' four']) {
      b.push(t);
      clock.advance(80);
    }
    assert.deepEqual(sent, ['one', ' two', ' three', ' four']);
  });

  it('sends what waits when the stream pauses, at most one and a half intervals late', () => {
    const clock = manualClock();
    const sent: { text: string; at: number }[] = [];
    const b = new TokenBatcher((text) => sent.push({ text, at: clock.now() }), 50, clock);
    b.push('a');
    clock.advance(10);
    b.push('b');
    clock.advance(5);
    b.push('c');
    clock.advance(1000); // the model thinks
    assert.deepEqual(sent, [{ text: 'a', at: 0 }, { text: 'bc', at: 75 }], 'held tokens went out 1.5 intervals after the last message');
    assert.equal(clock.fired, 1);
    b.push('d');
    b.flush();
    assert.deepEqual(sent.map((s) => s.text).join(''), 'abcd');
  });

  it('cancel() leaves no timer and sends nothing more', () => {
    const clock = manualClock();
    const sent: string[] = [];
    const b = new TokenBatcher((text) => sent.push(text), 50, clock);
    b.push('a');
    b.push('b');
    b.cancel();
    clock.advance(1000);
    assert.deepEqual(sent, ['a']);
    assert.equal(clock.pending(), 0);
  });
});
