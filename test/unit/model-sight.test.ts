// What the model saw (src/images/tiling.ts modelSight): the resize factor and what it means for text,
// the cost per part, and the reference rule that enlarges a small region past a whole screen's
// cost — then lowering that waiting image's tiles in the composer (host side, real store).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Composer } from '../../src/chat/composer';
import { modelSight, referenceGrid } from '../../src/images/tiling';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-model-sight-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sight = (w: number, h: number, maxTiles = 12) => modelSight(w, h, referenceGrid(w, h, 1, maxTiles));

describe('What the model saw', () => {
  it('a 456×346 region is enlarged to 13 tiles, 3 330 tokens: more than a whole 1920×1080 screen at 2 306', () => {
    const s = sight(456, 346);
    assert.equal(s.costlyForSize, true);
    assert.equal(s.summary, 'enlarged 3.9× to 13 tiles: 3\u202f330 tokens, more than a whole 1920×1080 screen (2\u202f306); fewer tiles lose no detail');
    assert.equal(s.parts, '4×3 tiles × 256 + thumbnail 256 + 2 = 3\u202f330 tokens');
    assert.equal(sight(1920, 1080).parts, '4×2 tiles × 256 + thumbnail 256 + 2 = 2\u202f306 tokens');
  });

  it('a shrunk image says how much and which text may be lost; one at its own size says so', () => {
    assert.equal(sight(3840, 2160).summary, 'shrunk 2.4×: text under ~10 px may be unreadable');
    // The example: shrunk 2.1× → text under ~9 px.
    assert.match(modelSight(3763, 1882, { cols: 4, rows: 2, thumbnail: true }).summary, /^shrunk 2\.1×: text under ~9 px/);
    assert.equal(sight(448, 448).summary, 'seen at about its own size');
    assert.equal(sight(448, 448).parts, '1×1 tile × 256 + 2 = 258 tokens');
    assert.equal(sight(456, 346, 1).costlyForSize, false, 'on one tile it costs less than a screen');
  });

  it('lowering a waiting image’s tiles prepares it again on the smaller grid, its crop kept', async () => {
    const store = new AttachmentStore(join(dir, 'attachments'), { maxTiles: () => 12 });
    const changes: (string | null)[] = [];
    const composer = new Composer(store, (e) => changes.push(e));
    await composer.attach(() => store.add(testPng(456, 346), 'region.png'));
    const id = composer.images[0]!.shown.id;
    assert.equal(composer.images[0]!.shown.tiles, 13);
    await composer.setTiles(id, 1);
    assert.equal(composer.images[0]!.shown.tiles, 1);
    assert.equal(composer.images[0]!.shown.model.tokens, 258);
    await composer.crop(composer.images[0]!.shown.id, { x: 0, y: 0, width: 400, height: 300 });
    assert.equal(composer.images[0]!.shown.tiles, 1, 'a later crop keeps the lower limit');
    assert.deepEqual(changes, [null, null, null]);
  });
});
