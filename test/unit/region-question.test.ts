// Ask about this region: a rectangle the user drew on an image in the chat becomes InternVL's
// region-caption prompt with its referring box, 0..1000 of the image as the model sees it — after
// EXIF rotation, a crop and on a HiDPI capture — and the question's box is drawn back on the image.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import type { TurnRecord } from '../../src/chat/records';
import { turnView } from '../../src/chat/viewModel';
import { referredBoxes, regionCaptionPrompt } from '../../src/grounding';
import { referringBox } from '../../src/images';
import { loadSharp } from '../../src/images/prepare';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-region-question-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = new AttachmentStore(join(dir, 'attachments'), { maxTiles: () => 12 });

/** A JPEG stored 600×400 whose EXIF orientation 6 turns it upright to 400×600. */
async function rotatedJpeg(): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.alloc(600 * 400 * 3, 128), { raw: { width: 600, height: 400, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
}

describe('Ask about this region', () => {
  it('EXIF-rotated: the rectangle in upright pixels is 0..1000 of the upright image', async () => {
    const image = await store.add(await rotatedJpeg(), 'phone.jpg');
    assert.deepEqual([image.width, image.height], [400, 600], 'upright size');
    const box = referringBox(image.model.transform, { x: 100, y: 150, width: 200, height: 300 });
    assert.deepEqual(box, [250, 250, 750, 750]);
    assert.equal(regionCaptionPrompt(box!), 'Please provide a short description for this region: <box>[[250, 250, 750, 750]]</box>');
  });

  it('cropped: 0..1000 of the kept part the model sees; a rectangle partly outside is cut to it, wholly outside gives none', async () => {
    const image = await store.add(await rotatedJpeg(), 'phone.jpg', { crop: { x: 100, y: 100, width: 200, height: 400 } });
    const t = image.model.transform;
    assert.deepEqual(referringBox(t, { x: 150, y: 200, width: 100, height: 100 }), [250, 250, 750, 500]);
    assert.deepEqual(referringBox(t, { x: 0, y: 0, width: 200, height: 200 }), [0, 0, 500, 250]);
    assert.equal(referringBox(t, { x: 0, y: 0, width: 50, height: 50 }), null);
  });

  it('HiDPI: a devicePixelRatio 2 capture is measured in its own (device) pixels; the ratio changes nothing', async () => {
    const retina = await store.add(testPng(2880, 1800), 'retina.png', { devicePixelRatio: 2 });
    const plain = await store.add(testPng(2880, 1800), 'retina.png', { devicePixelRatio: 1.5 });
    const rect = { x: 288, y: 360, width: 576, height: 360 };
    assert.deepEqual(referringBox(retina.model.transform, rect), [100, 200, 300, 400]);
    assert.deepEqual(referringBox(plain.model.transform, rect), [100, 200, 300, 400]);
    // Rounded to InternVL's whole 0..1000.
    assert.deepEqual(referringBox(retina.model.transform, { x: 1, y: 1, width: 1, height: 1 }), null, 'under half a unit rounds to nothing');
    assert.deepEqual(referringBox(retina.model.transform, { x: 2879, y: 0, width: 1, height: 1800 }), null);
    assert.deepEqual(referringBox(retina.model.transform, { x: 2877, y: 0, width: 3, height: 1800 }), [999, 0, 1000, 1000]);
  });

  it('the question names its box: the view draws it back on the target image, other text is not read as one', async () => {
    const image = await store.add(testPng(1000, 500), 'shot.png');
    const question = regionCaptionPrompt([100, 200, 300, 400]);
    assert.deepEqual(referredBoxes(question), [[0.1, 0.2, 0.3, 0.4]]);
    assert.deepEqual(referredBoxes('a matrix [[1, 2, 3, 4]] and <box>[[5, 5, 5, 9]]</box> and <box>[[1, 2, 1001, 4]]</box>'), []);
    const turn: TurnRecord = { id: 't', question, prompt: null, images: [image], target: image, answer: 'A button.', status: 'done', regions: [], error: null, stats: null };
    const view = turnView(turn, { uri: (p) => p, inline: () => undefined });
    assert.deepEqual(view.referred, [[0.1, 0.2, 0.3, 0.4]]);
    assert.equal(turnView({ ...turn, question: 'What is this?' }, { uri: (p) => p, inline: () => undefined }).referred, undefined);
  });
});
