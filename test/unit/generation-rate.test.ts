// The live generation rate: tokens (not messages) over the time since the first token, at most
// four readings a second, approximate when the engine does not count tokens.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GenerationRate, RATE_INTERVAL_MS } from '../../src/chat/generationRate';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('GenerationRate', () => {
  it('counts the tokens of batched messages, not the messages', () => {
    const clock = manualClock();
    const rate = new GenerationRate(clock.now);
    // An engine may send the first token alone, then batches (here every 32 ms): 40 tok/s is ~1.28 tokens
    // per batch, so batches of 1 and 2 alternate; at 25 batches a second a message count would say 31.
    assert.equal(rate.add(1), null, 'one token is no rate yet');
    const readings = [];
    for (let i = 0; i < 32; i++) {
      clock.advance(32);
      const reading = rate.add(i % 4 === 3 ? 2 : 1);
      if (reading) readings.push(reading);
    }
    const last = readings.at(-1)!;
    // 32 batches in 1024 ms holding 40 tokens.
    assert.equal(last.tokens, 41);
    assert.equal(last.tokensPerSecond, (40 * 1000) / 1024);
    assert.equal(last.approximate, false);
  });

  it('reports at most once per interval, and not before one interval of tokens', () => {
    const clock = manualClock();
    const rate = new GenerationRate(clock.now);
    const at: number[] = [];
    // One token every 10 ms for two seconds: 200 calls.
    for (let i = 0; i < 200; i++) {
      if (rate.add(1)) at.push(i * 10);
      clock.advance(10);
    }
    assert.equal(at[0], RATE_INTERVAL_MS, 'the first reading waits for a quarter second of tokens');
    for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! >= RATE_INTERVAL_MS, `readings at ${at.join(', ')}`);
    assert.equal(at.length, 7, `readings at ${at.join(', ')}`);
  });

  it('a slow model still gets a reading with each token once an interval has passed', () => {
    const clock = manualClock();
    const rate = new GenerationRate(clock.now);
    rate.add(1);
    clock.advance(500);
    assert.deepEqual(rate.add(1), { tokensPerSecond: 2, tokens: 2, approximate: false });
    clock.advance(500);
    assert.deepEqual(rate.add(1), { tokensPerSecond: 2, tokens: 3, approximate: false });
  });

  it('says the rate is approximate once a piece comes without a token count', () => {
    const clock = manualClock();
    const rate = new GenerationRate(clock.now);
    rate.add(undefined);
    clock.advance(300);
    rate.add(3);
    clock.advance(300);
    const reading = rate.add(undefined);
    assert.deepEqual(reading, { tokensPerSecond: 4 / 0.6, tokens: 5, approximate: true });
  });
});
