// The conversation with a scripted engine: the engine sees the grid-sized copy and the preset's
// prompt, regions stream in once each, and map back to the original's pixels.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation } from '../../src/chat/conversation';
import type { ChatTurn, Engine } from '../../src/engine/engine';
import { presetPrompt } from '../../src/grounding';
import { pixelCoordinates } from '../../src/images';
import { loadSharp } from '../../src/images/prepare';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-conversation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ANSWER = 'Found it: <ref>Save</ref><box>[[100,200,300,400]]</box>';

function scriptedEngine(seen: ChatTurn[][]): Engine {
  const engine = {
    async chat(turns: ChatTurn[], _options: unknown, onToken: (t: string) => void) {
      seen.push(turns);
      for (let i = 0; i < ANSWER.length; i += 3) onToken(ANSWER.slice(i, i + 3));
      const stats = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 5, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: false, contextFull: false };
      return { text: ANSWER, stats };
    },
  };
  return engine as unknown as Engine;
}

describe('Conversation with grounding', () => {
  it('sends the grid-sized image and the preset prompt; regions stream once and map to original pixels', async () => {
    const store = new AttachmentStore(join(dir, 'attachments'), { maxTiles: () => 12 });
    const attachment = await store.add(testPng(1920, 1080), 'screen.png');
    assert.equal(attachment.tiles, 9);
    assert.equal(attachment.model.tokens, 2306);
    const seen: ChatTurn[][] = [];
    const conversation = new Conversation({ engine: () => scriptedEngine(seen), chatOptions: () => ({ maxTokens: 50, temperature: 0 }), log: () => undefined });
    const regionCounts: number[] = [];
    conversation.onEvent((e) => {
      if (e.type === 'turn') regionCounts.push(e.turn.regions.length);
    });
    const { question, prompt } = presetPrompt('locate', 'the Save button');
    const turn = await conversation.ask(question, [attachment], { prompt });

    const sent = seen[0]!.at(-1)!;
    assert.equal(sent.text, prompt, 'the model gets the prompt, the chat shows the question');
    assert.equal(turn.question, 'Locate element: the Save button');
    assert.equal(sent.images[0]!.path, attachment.model.modelPath);
    const sharp = await loadSharp();
    const meta = await sharp(sent.images[0]!.path).metadata();
    assert.deepEqual([meta.width, meta.height], [1792, 896]);

    assert.deepEqual(turn.regions, [{ kind: 'box', label: 'Save', box: [0.1, 0.2, 0.3, 0.4] }]);
    // queued, streaming, the box completing (once), done.
    assert.deepEqual(regionCounts, [0, 0, 1, 1]);
    assert.deepEqual(pixelCoordinates(turn.target!.model.transform, turn.regions[0]!), [192, 216, 576, 432]);

    // A follow-up about the same image reuses it as the target, and the engine sees the history.
    const follow = await conversation.ask('And now?');
    assert.equal(follow.target?.id, attachment.id);
    assert.equal(seen[1]![0]!.images[0]!.path, attachment.model.modelPath);
  });

  it("waits for a capture's model-sized copy written in the background before the engine sees it", async () => {
    // A store of its own: content-addressed, it would find the copy the test above wrote.
    const store = new AttachmentStore(join(dir, 'attachments-background'), { maxTiles: () => 12 });
    const rgba = Buffer.alloc(1920 * 1080 * 4, 255);
    const attachment = await store.add(testPng(1920, 1080), 'screen.png', { pixels: { data: rgba, width: 1920, height: 1080, channels: 4 }, modelCopyInBackground: true });
    const sizes: (number | undefined)[] = [];
    const engine = scriptedEngine([]);
    const chat = engine.chat.bind(engine);
    engine.chat = async (turns, options, onToken, signal) => {
      // What the engine would read, at the moment it is asked.
      sizes.push((await (await loadSharp())(turns[0]!.images[0]!.path).metadata()).width);
      return chat(turns, options, onToken, signal);
    };
    const conversation = new Conversation({ engine: () => engine, chatOptions: () => ({ maxTokens: 50, temperature: 0 }), log: () => undefined });
    const turn = await conversation.ask('What is this?', [attachment]);
    assert.equal(turn.status, 'done', turn.error?.message);
    assert.deepEqual(sizes, [1792]);
  });

  it('after New Chat, the old answer ends in the background without reaching the view: the new chat stays empty', async () => {
    let release: () => void = () => undefined;
    const engine = {
      async chat(_turns: ChatTurn[], _options: unknown, onToken: (t: string, n?: number) => void, signal?: AbortSignal) {
        onToken('one', 1);
        // An engine that takes a moment to end a stopped stream (llama-server closing its connection).
        await new Promise<void>((r) => (release = r));
        onToken('late', 1);
        const stats = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 2, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: signal?.aborted ?? false, contextFull: false };
        return { text: 'onelate', stats };
      },
    } as unknown as Engine;
    const conversation = new Conversation({ engine: () => engine, chatOptions: () => ({ maxTokens: 50, temperature: 0 }), log: () => undefined });
    const events: string[] = [];
    conversation.onEvent((e) => events.push(e.type));
    const asked = conversation.ask('Count');
    await new Promise((r) => setImmediate(r));
    const cleared = conversation.clear();
    events.length = 0;
    release();
    const old = await asked;
    await cleared;
    assert.equal(old.status, 'stopped');
    assert.deepEqual(events, [], 'nothing about the old turn reached the view after the reset');
    assert.equal(conversation.turns.length, 0);
  });

  it('reports the generation rate while tokens stream, counting the tokens each piece holds', async () => {
    let now = 0;
    const engine = {
      async chat(_turns: ChatTurn[], _options: unknown, onToken: (t: string, n?: number) => void) {
        // 1 token, then a batch of 3 every 100 ms for a second: 30 tokens a second after the first.
        onToken('a', 1);
        for (let i = 0; i < 10; i++) {
          now += 100;
          onToken('bcd', 3);
        }
        const stats = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 31, timeToFirstTokenMs: 1, tokensPerSecond: 30, interrupted: false, contextFull: false };
        return { text: `a${'bcd'.repeat(10)}`, stats };
      },
    } as unknown as Engine;
    const conversation = new Conversation({ engine: () => engine, chatOptions: () => ({ maxTokens: 50, temperature: 0 }), log: () => undefined, clock: () => now });
    const rates: { at: number; tokensPerSecond: number; tokens: number; approximate: boolean }[] = [];
    conversation.onEvent((e) => {
      if (e.type === 'rate') rates.push({ at: now, ...e.rate });
    });
    const turn = await conversation.ask('Go');
    assert.equal(turn.status, 'done');
    // Throttled to one reading per 250 ms: at 300, 600 and 900 ms.
    assert.deepEqual(rates, [
      { at: 300, tokensPerSecond: 30, tokens: 10, approximate: false },
      { at: 600, tokensPerSecond: 30, tokens: 19, approximate: false },
      { at: 900, tokensPerSecond: 30, tokens: 28, approximate: false },
    ]);
    assert.match(turn.stats ?? '', /31 generated · 30\.0 tok\/s/);
  });

  it('a smaller tile budget makes a smaller model image and cheaper tokens', async () => {
    const store = new AttachmentStore(join(dir, 'attachments'), { maxTiles: () => 2 });
    const a = await store.add(testPng(1920, 1080), 'screen.png');
    assert.deepEqual(a.model.grid, { cols: 2, rows: 1, thumbnail: true });
    assert.equal(a.model.tokens, 3 * 256 + 2);
  });
});
