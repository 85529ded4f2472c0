// A clip turn in the history: its frames, their times and which frame each region is on come back
// as they were stored; the chat's view of it puts each region on its frame, and so does a follow-up's.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation } from '../../src/chat/conversation';
import { HistoryStore } from '../../src/chat/history';
import { turnView } from '../../src/chat/viewModel';
import type { ChatTurn, Engine } from '../../src/engine/engine';
import type { SampledClip } from '../../src/video/clip';
import { testPng } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';

const dir = mkdtempSync(join(tmpdir(), 'lens-video-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STATS = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 5, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: false, contextFull: false };

function scripted(seen: ChatTurn[][]): Engine {
  return {
    async chat(turns: ChatTurn[], _o: unknown, onToken: (t: string) => void) {
      seen.push(turns);
      onToken(SCRIPTS.video.text);
      return { text: SCRIPTS.video.text, stats: STATS };
    },
  } as unknown as Engine;
}

describe('a clip turn', () => {
  it('is asked as frames, stored with its clip, and read back with each region on its frame', async () => {
    const store = new AttachmentStore(join(dir, 'attachments'));
    const clip: SampledClip = {
      name: 'bug.mp4',
      source: 'ffmpeg',
      width: 640,
      height: 360,
      fps: 25,
      frameCount: 100,
      duration: 4,
      bound: null,
      frames: [0, 1, 2, 3].map((i) => ({ number: i + 1, index: 12 + 25 * i, seconds: (12 + 25 * i) / 25, png: testPng(640, 360 + i), width: 640, height: 360 + i })),
    };
    const stored = await store.addClip(clip);
    assert.deepEqual(stored.frames.map((f) => f.tiles), [1, 1, 1, 1]);
    assert.match(stored.frames[2]!.name, /^bug\.mp4 frame 3 at 0:02\.4\.png$/);
    const seen: ChatTurn[][] = [];
    const conversation = new Conversation({ engine: () => scripted(seen), chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log: () => undefined });
    const turn = await conversation.ask('What happens?', stored.frames, { clip: stored.record });
    assert.equal(seen[0]![0]!.frames, true, 'the engine is told these are frames');
    assert.deepEqual(turn.clip?.regionFrames, [3]);
    const follow = await conversation.ask('Then?');
    assert.equal(seen[1]![0]!.frames, true, 'the clip turn stays frames in the history sent');
    assert.equal(seen[1]![2]!.frames, undefined, 'the follow-up is not');
    assert.deepEqual(seen[1]![2]!.images, [], 'no frame is sent again');
    // The follow-up's answer names Frame3 too: its box is on the clip's frame 3, not on the last frame.
    assert.deepEqual(follow.clip?.regionFrames, [3]);
    assert.deepEqual(follow.clipFrames?.map((a) => a.id), stored.frames.map((a) => a.id));

    const history = new HistoryStore(join(dir, 'history'), store.modelDir);
    await history.save(conversation.snapshot());
    const loaded = (await history.load(conversation.id))!;
    assert.deepEqual(loaded.turns[0]!.clip, turn.clip);
    assert.deepEqual(loaded.turns[1]!.clip, follow.clip);
    assert.deepEqual(loaded.turns[1]!.clipFrames?.map((a) => a.id), stored.frames.map((a) => a.id));
    const to = { uri: (p: string) => `file://${p}`, inline: () => undefined };
    const view = turnView(loaded.turns[0]!, to);
    assert.deepEqual(view.clip?.frames.map((f) => f.index), [12, 37, 62, 87]);
    assert.equal(view.clip?.images, undefined, 'the clip turn shows its own images');
    assert.equal(view.regions[0]!.frame, 3);
    // The region's pixels are on frame 3 (362 px high: 253), not on the target (frame 4, 363 px: 254).
    assert.deepEqual(view.regions[0]!.pixels, [160, 109, 480, 253]);
    const followView = turnView(loaded.turns[1]!, to);
    assert.deepEqual(followView.images, []);
    assert.deepEqual(followView.clip?.images?.map((i) => i.id), stored.frames.map((a) => a.id));
    assert.equal(followView.regions[0]!.frame, 3);
    assert.deepEqual(followView.regions[0]!.pixels, [160, 109, 480, 253]);
  });
});
