// The conversation persists itself (the view keeps nothing): a finished turn is handed to the
// store before anything else can happen, streamed text at least once a second, and starting
// another conversation (New Chat, clear, opening one from the history, shutting down) stores the
// old one first, as it stands. With the real HistoryStore underneath, what it says is on disk is.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Conversation, STREAM_FLUSH_MS, type ConversationStore } from '../../src/chat/conversation';
import type { ConversationData } from '../../src/chat/records';
import { HistoryStore } from '../../src/chat/history';
import type { ChatOutcome, Engine } from '../../src/engine/engine';
import { waitFor } from '../fixtures/wait';

const dir = mkdtempSync(join(tmpdir(), 'lens-conversation-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STATS = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 5, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: false, contextFull: false };

/** An engine the test drives: `token()` streams a piece, `finish()` ends the answer; an abort ends it as interrupted. */
class DrivenEngine {
  private onToken: ((t: string) => void) | null = null;
  private end: ((o: ChatOutcome) => void) | null = null;
  private text = '';
  private started: (() => void) | null = null;
  readonly running = new Promise<void>((r) => (this.started = r));

  chat(_turns: unknown, _options: unknown, onToken: (t: string) => void, signal?: AbortSignal): Promise<ChatOutcome> {
    this.onToken = onToken;
    this.started?.();
    return new Promise((resolve) => {
      this.end = resolve;
      signal?.addEventListener('abort', () => resolve({ text: this.text, stats: { ...STATS, interrupted: true } }));
    });
  }

  token(t: string): void {
    this.text += t;
    this.onToken!(t);
  }

  finish(): void {
    this.end!({ text: this.text, stats: STATS });
  }
}

/** A store that records what it was given, as it was given (a copy), and when. */
class RecordingStore implements ConversationStore {
  readonly saves: { at: number; id: string; answers: string[]; statuses: string[]; title: string }[] = [];
  fail = false;
  async save(data: ConversationData): Promise<void> {
    if (this.fail) throw new Error('disk full');
    this.saves.push({ at: performance.now(), id: data.id, answers: data.turns.map((t) => t.answer), statuses: data.turns.map((t) => t.status), title: data.title });
  }
  last(id: string) {
    return this.saves.filter((s) => s.id === id).at(-1);
  }
}

function conversationWith(engine: DrivenEngine | (() => Engine), store: ConversationStore, log: (m: string) => void = () => undefined): Conversation {
  return new Conversation({ engine: typeof engine === 'function' ? engine : () => engine as unknown as Engine, chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log, store });
}

describe('the conversation stores itself', () => {
  it('a finished turn is stored before its last event reaches the view, and before ask resolves', async () => {
    const engine = new DrivenEngine();
    const store = new RecordingStore();
    const conversation = conversationWith(engine, store);
    const storedAtDone: (string | undefined)[] = [];
    conversation.onEvent((e) => {
      if (e.type === 'turn' && e.turn.status === 'done') storedAtDone.push(store.last(conversation.id)?.answers[0]);
    });
    const asked = conversation.ask('Where?');
    assert.deepEqual(store.last(conversation.id)?.statuses, ['queued'], 'the question is stored when it is asked');
    await engine.running;
    engine.token('The Save ');
    engine.token('button.');
    engine.finish();
    await asked;
    assert.deepEqual(storedAtDone, ['The Save button.'], 'stored when the view hears the turn is done');
    assert.deepEqual(store.last(conversation.id)?.statuses, ['done']);
  });

  it(`streamed text is stored within ${STREAM_FLUSH_MS} ms of arriving`, async () => {
    const engine = new DrivenEngine();
    const store = new RecordingStore();
    const conversation = conversationWith(engine, store);
    const asked = conversation.ask('Describe.');
    await engine.running;
    const arrivals: { at: number; length: number }[] = [];
    let text = '';
    // A token every 100 ms for 2.6 s, then silence until the answer ends.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        engine.token('word ');
        text += 'word ';
        arrivals.push({ at: performance.now(), length: text.length });
        if (arrivals.length === 26) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    });
    await waitFor(
      `all ${text.length} streamed characters stored`,
      () => (store.last(conversation.id)?.answers[0]?.length ?? 0) >= text.length,
      { timeoutMs: STREAM_FLUSH_MS + 2000, intervalMs: 20 },
    );
    for (const a of arrivals) {
      const save = store.saves.find((s) => s.at >= a.at && (s.answers[0]?.length ?? 0) >= a.length);
      assert.ok(save, `the text up to ${a.length} characters was stored`);
      // Timers are late by what the machine is doing; 250 ms of slack on a busy 2-core machine.
      assert.ok(save.at - a.at <= STREAM_FLUSH_MS + 250, `stored ${(save.at - a.at).toFixed(0)} ms after it arrived`);
    }
    const streamingSaves = store.saves.filter((s) => s.statuses[0] === 'streaming').length;
    assert.ok(streamingSaves >= 2 && streamingSaves <= 5, `about one save a second while streaming, not one per token (${streamingSaves})`);
    engine.finish();
    await asked;
  });

  for (const action of ['New Chat', 'opening another conversation', 'shutting down'] as const) {
    it(`${action} during a stream stores the old conversation whole first`, async () => {
      const engine = new DrivenEngine();
      const store = new RecordingStore();
      const conversation = conversationWith(engine, store);
      const asked = conversation.ask('Describe.');
      await engine.running;
      const old = conversation.id;
      let shown = '';
      conversation.onEvent((e) => {
        if (e.type === 'token') shown += e.text;
      });
      engine.token('Half ');
      engine.token('an answer');
      const savesBefore = store.saves.length;
      const other: ConversationData = { id: 'other', title: 'Other', created: 1, updated: 1, turns: [] };
      const done = action === 'New Chat' ? conversation.clear() : action === 'opening another conversation' ? conversation.restore(other) : conversation.dispose();
      // Synchronously: the old conversation was handed over as it stood, before the new one is shown.
      assert.equal(store.saves.length, savesBefore + 1);
      assert.deepEqual(store.last(old)?.answers, [shown], 'every token shown is in the stored answer');
      await done;
      await asked;
      assert.deepEqual(store.last(old)?.answers, ['Half an answer']);
      assert.deepEqual(store.last(old)?.statuses, ['stopped'], 'and when the stopped answer ended, it was stored stopped');
      if (action !== 'shutting down') assert.notEqual(conversation.id, old);
    });
  }

  it('a conversation deleted from the history is not stored again by its ending answer', async () => {
    const engine = new DrivenEngine();
    const store = new RecordingStore();
    const conversation = conversationWith(engine, store);
    const asked = conversation.ask('Describe.');
    await engine.running;
    const old = conversation.id;
    engine.token('text');
    const saves = store.saves.filter((s) => s.id === old).length;
    await conversation.clear({ discard: true });
    await asked;
    assert.equal(store.saves.filter((s) => s.id === old).length, saves);
  });

  it('renaming stores the title; a failed save is logged and the next one stores everything', async () => {
    const engine = new DrivenEngine();
    const store = new RecordingStore();
    const logged: string[] = [];
    const conversation = conversationWith(engine, store, (m) => logged.push(m));
    store.fail = true;
    const asked = conversation.ask('Describe.');
    await engine.running;
    engine.token('All of it.');
    engine.finish();
    await asked;
    assert.match(logged.join('\n'), /history: saving .* failed: disk full/);
    store.fail = false;
    await conversation.rename('  Renamed ');
    assert.deepEqual(store.last(conversation.id), { ...store.last(conversation.id)!, title: 'Renamed', answers: ['All of it.'], statuses: ['done'] });
  });

  it('with the history store: a New Chat in the middle of an answer leaves it whole on disk', async () => {
    const history = new HistoryStore(join(dir, 'history'), join(dir, 'model'));
    const engine = new DrivenEngine();
    const conversation = conversationWith(engine, history);
    const asked = conversation.ask('Describe.');
    await engine.running;
    const old = conversation.id;
    const pieces = Array.from({ length: 200 }, (_, i) => `piece ${i} `);
    for (const p of pieces) engine.token(p);
    await conversation.clear();
    // Read right after clear resolves: no timer has had its second.
    const stored = await history.load(old);
    assert.equal(stored?.turns[0]?.answer, pieces.join(''));
    await asked;
    await conversation.flush();
    assert.equal((await history.load(old))?.turns[0]?.status, 'stopped');
  });
});
