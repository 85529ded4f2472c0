// A clip through the real engine: generated clips, the real llama-server on the tiny scripted
// 'video' model, the Conversation the chat uses, the CLI and the MCP server as users run them.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import * as v from 'valibot';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation } from '../../src/chat/conversation';
import { regionImage } from '../../src/chat/records';
import type { ChatOutcome, Engine } from '../../src/engine/engine';
import { LocalEngine } from '../../src/engine/local/localEngine';
import { GroundingResult } from '../../src/protocol/grounding';
import { sampleClip } from '../../src/video/clip';
import { frameIndices } from '../../src/video/sampling';
import { makeAnimation, makeClip } from '../fixtures/clips';
import { SCRIPTS } from '../fixtures/scripts';
import { modelFlags, ROOT, runCli, testLlamaServer, testLlamaServerPath, tinyModel } from './support';

let dir: string;
let clipPath: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lens-video-engine-'));
  clipPath = await makeClip(dir, { container: 'mp4', fps: 25, seconds: 4, width: 320, height: 180 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a clip in the conversation, on the real llama-server', () => {
  let engine: LocalEngine;
  const outcomes: ChatOutcome[] = [];
  before(() => {
    const m = tinyModel('video');
    engine = new LocalEngine({
      server: testLlamaServer,
      settings: () => ({ modelPath: m.modelPath, mmprojPath: m.mmprojPath, contextSize: 4096, gpuLayers: 0, threads: 2, idleUnloadMinutes: 0 }),
      log: () => undefined,
    });
  });
  after(() => engine.dispose());

  it('asks Frame1…Frame8 with the question, puts the box on Frame3, and the follow-up re-encodes no frame', async () => {
    const recording: Engine = new Proxy(engine, {
      get(target, prop, receiver) {
        if (prop === 'chat') {
          return async (...args: Parameters<Engine['chat']>) => {
            const outcome = await target.chat(...args);
            outcomes.push(outcome);
            return outcome;
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const store = new AttachmentStore(join(dir, 'attachments'));
    const conversation = new Conversation({ engine: () => recording, chatOptions: () => ({ maxTokens: 128, temperature: 0 }), log: () => undefined });
    const clip = await sampleClip(clipPath, { ffmpegPath: '' });
    const stored = await store.addClip(clip);
    assert.equal(stored.frames.length, 8);
    assert.ok(stored.frames.every((f) => f.tiles === 1 && f.model.tokens === 258), 'one tile a frame');
    assert.deepEqual(stored.record.frames.map((f) => f.index), frameIndices({ bound: null, fps: 25, maxFrame: 99 }));
    const first = await conversation.ask('What happens in this video?', stored.frames, { clip: stored.record });
    assert.equal(first.status, 'done', first.error?.message);
    assert.equal(first.answer, SCRIPTS.video.text);
    assert.equal(first.regions.length, 1);
    assert.deepEqual(first.clip?.regionFrames, [3], 'the box is on the frame the answer named');
    const s1 = outcomes[0]!.stats;
    assert.equal(s1.imageTokens, 8 * 258);
    assert.equal(s1.imagesEncoded, true);
    assert.ok(s1.contextTokens! >= 8 * 258, `${s1.contextTokens} prompt tokens hold the 8 frames`);

    const second = await conversation.ask('And what happens after the dialog?');
    assert.equal(second.status, 'done', second.error?.message);
    const s2 = outcomes[1]!.stats;
    assert.equal(s2.imagesEncoded, false, 'no frame was encoded again');
    assert.equal(s2.kvReused, true);
    assert.ok(s2.reusedTokens! >= s1.contextTokens! - 2, `reused ${s2.reusedTokens} of the first turn's ${s1.contextTokens}`);
    assert.ok(s2.promptTokens! * 10 < s1.promptTokens!, `follow-up evaluated ${s2.promptTokens}, first ${s1.promptTokens}`);
    assert.match(second.stats ?? '', /cached, 2064 image, not re-encoded/);
    // Its answer names Frame3 as well: the box goes on the clip's frame 3, which it did not send again.
    assert.deepEqual(second.images, []);
    assert.deepEqual(second.clip?.regionFrames, [3]);
    assert.equal(regionImage(second, 0)?.id, stored.frames[2]!.id);
  });
});

const cli = runCli;
const videoModel = () => modelFlags('video');

describe('internvl-lens ask --video', () => {
  it('prints the frames, their cost and the box on Frame3 in the clip pixels, in the public schema', async () => {
    const r = await cli('ask', '--video', clipPath, 'What goes wrong?', '--frames', '6', '--start', '1', '--end', '3.5', ...videoModel());
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { frames: { number: number; index: number; seconds: number }[]; frameTokens: number; answer: string; regions: { frame: number; box: number[] }[]; image: { width: number; height: number } };
    assert.ok(v.safeParse(GroundingResult, out).success, 'the public grounding schema');
    assert.deepEqual(out.frames.map((f) => f.index), frameIndices({ bound: [1, 3.5], fps: 25, maxFrame: 99, numSegments: 6 }));
    assert.equal(out.frameTokens, 6 * 258);
    assert.equal(out.answer, SCRIPTS.video.text);
    assert.deepEqual(out.image, { path: clipPath, width: 320, height: 180, devicePixelRatio: 1 });
    // [[250,300,750,700]] of 320×180.
    assert.deepEqual(out.regions.map((x) => [x.frame, x.box]), [[3, [80, 54, 240, 126]]]);
  });

  it('a clip that does not fit --context is refused before anything runs, with the frames that fit', async () => {
    const r = await cli('ask', '--video', clipPath, 'What goes wrong?', '--frames', '16', '--context', '4096', ...videoModel());
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    assert.equal(err.error.code, 'context-overflow');
    assert.match(err.error.message, /16 frames of .* need about [\d,]+ tokens .* the context holds 4,096\. Ask with --frames 11, or raise --context\./);
  });

  it('wrong flags: exit code 2 and a sentence', async () => {
    const many = await cli('ask', '--video', clipPath, 'q', '--frames', '40');
    assert.equal(many.code, 2);
    assert.match(many.stderr, /--frames: the number of frames must be a whole number from 1 to 32, got 40/);
    const backwards = await cli('ask', '--video', clipPath, 'q', '--start', '3', '--end', '1');
    assert.equal(backwards.code, 2);
    assert.match(backwards.stderr, /--end \(1\) must be after --start \(3\)/);
  });
});

describe('MCP ask_image with an animated GIF', () => {
  it('returns the frames and each region on its frame', async () => {
    const gif = await makeAnimation(join(dir, 'steps.gif'), 'gif', [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    const m = tinyModel('video');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'dist', 'cli.js'), 'mcp', '--model', m.modelPath, '--mmproj', m.mmprojPath, '--threads', '2', '--gpu-layers', '0', '--llama-server', testLlamaServerPath()],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir() },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'lens-video-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'ask_image', arguments: { image: gif, question: 'What changes?', frames: 4 } });
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      const out = result.structuredContent as { frames: { index: number }[]; regions: { frame: number; box: number[] }[] };
      assert.deepEqual(out.frames.map((f) => f.index), frameIndices({ bound: null, fps: 5, maxFrame: 9, numSegments: 4 }));
      assert.deepEqual(out.regions.map((r) => [r.frame, r.box]), [[3, [24, 10, 72, 22]]]);
      const text = (result.content as { type: string; text?: string }[]).find((c) => c.type === 'text')?.text ?? '';
      assert.match(text, /4 frames: Frame1 = frame 1 at 0\.20 s.*1032 image tokens.*error dialog on Frame3 at box \[24, 10, 72, 22\]/);
    } finally {
      await client.close();
    }
  });
});
