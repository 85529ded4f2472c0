import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildRequest, LLAMA_SERVER_REQUEST, REMOTE_REQUEST, type TextPart } from '../../src/engine/openai/request';
import { prepareForModel } from '../../src/images';
import { clipTime } from '../../src/protocol/clip';
import { regionFrames } from '../../src/video/regions';
import { budgetRefusal, frameBudget } from '../../src/video/sampling';
import { encodePng, solidImage } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';

const scratch = mkdtempSync(join(tmpdir(), 'lens-video-prompt-'));
const frames: string[] = [];
before(async () => {
  for (const [i, colour] of ([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]] as const).entries()) {
    const raw = join(scratch, `f${i}.png`);
    writeFileSync(raw, encodePng(640, 360, solidImage(640, 360, [...colour])));
    frames.push((await prepareForModel(raw, { outDir: scratch, key: `f${i}`, maxTiles: 1 })).modelPath);
  }
});

describe('the video prompt', () => {
  const turn = () => ({ role: 'user' as const, text: 'What happens?', images: frames.map((path) => ({ path })), frames: true });

  it("a remote server gets InternVL's `Frame1: <image>\\nFrame2: <image>\\n…` before the question, one tile a frame", async () => {
    const r = await buildRequest([turn()], 'm', { maxTokens: 10, temperature: 0 }, 12, REMOTE_REQUEST);
    const content = r.body.messages[0]!.content as Exclude<(typeof r.body.messages)[0]['content'], string>;
    assert.deepEqual(content.map((p) => p.type), ['image_url', 'image_url', 'image_url', 'text']);
    assert.equal((content[3] as TextPart).text, 'Frame1: <image>\nFrame2: <image>\nFrame3: <image>\nWhat happens?');
    assert.ok(content.every((p) => p.type !== 'image_url' || p.image_url.max_dynamic_patch === 1));
    assert.equal(r.imageTokens, 3 * 256 + 2 * 3);
    assert.equal(r.imageCount, 3);
  });

  it('llama-server gets each label just before its frame, then the question', async () => {
    const r = await buildRequest([turn()], 'm', { maxTokens: 10, temperature: 0 }, 12, LLAMA_SERVER_REQUEST);
    const content = r.body.messages[0]!.content as Exclude<(typeof r.body.messages)[0]['content'], string>;
    assert.deepEqual(
      content.map((p) => (p.type === 'text' ? p.text : 'IMAGE')),
      ['Frame1: ', 'IMAGE', '\nFrame2: ', 'IMAGE', '\nFrame3: ', 'IMAGE', '\nWhat happens?'],
    );
  });

  it('a single frame is still labelled Frame1 (a still image is not)', async () => {
    const one = await buildRequest([{ ...turn(), images: [{ path: frames[0]! }] }], 'm', { maxTokens: 10, temperature: 0 }, 12, REMOTE_REQUEST);
    assert.equal(((one.body.messages[0]!.content as TextPart[]).at(-1) as TextPart).text, 'Frame1: <image>\nWhat happens?');
    const still = await buildRequest([{ role: 'user', text: 'What happens?', images: [{ path: frames[0]! }] }], 'm', { maxTokens: 10, temperature: 0 }, 12, REMOTE_REQUEST);
    assert.equal(((still.body.messages[0]!.content as TextPart[]).at(-1) as TextPart).text, 'What happens?');
  });
});

describe('regions on frames', () => {
  it('a box after `Frame3:` is on frame 3; a box with no frame named is on the last', () => {
    assert.deepEqual(regionFrames(SCRIPTS.video.text, 8), [3]);
    assert.deepEqual(regionFrames('<ref>cat</ref><box>[[1,2,3,4]]</box>', 8), [8]);
    const two = 'Frame2: <ref>a</ref><box>[[1,2,3,4]]</box> then Frame 5 <ref>b</ref><box>[[5,6,7,8],[9,9,20,20]]</box>';
    assert.deepEqual(regionFrames(two, 8), [2, 5, 5]);
    // A frame the clip does not have keeps the frame before.
    assert.deepEqual(regionFrames('Frame2: <box>[[1,2,3,4]]</box> Frame12: <box>[[1,2,3,4]]</box>', 8), [2, 2]);
    assert.deepEqual(regionFrames('no regions in Frame3', 8), []);
    // Tag-less boxes (a server that skips special tokens).
    assert.deepEqual(regionFrames('Frame4: the dialog[[100,100,200,200]]', 8), [4]);
  });
});

describe('clip times and refusals', () => {
  it('times read m:ss.t (h:mm:ss.t past an hour)', () => {
    assert.deepEqual([0, 4.25, 59.99, 62.5, 3725.05].map(clipTime), ['0:00.0', '0:04.2', '0:59.9', '1:02.5', '1:02:05.0']);
  });

  it('a refusal gives the numbers and the frames that fit', () => {
    const b = frameBudget(16, 'What happened?', 1024, 4096);
    const text = budgetRefusal('bug.mp4', b, (n) => `Ask with --frames ${n}.`);
    assert.match(text, /^16 frames of bug\.mp4 need about 5,317 tokens \(4,128 for the frames at 258 each, the rest for the question and the answer\); the context holds 4,096\. Ask with --frames 11\.$/);
    assert.match(budgetRefusal('x', frameBudget(1, 'q', 4090, 4096), () => ''), /Not one frame fits/);
  });
});
