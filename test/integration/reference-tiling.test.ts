// Images resized to InternVL's reference grid are tiled by llama.cpp exactly on that grid:
// counted by the real llama-server (the test build) on the tiny model.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { imageTokenCount, prepareForModel, referenceGrid } from '../../src/images';
import { testPng } from '../fixtures/png';
import { tinyModel } from './support';
import { TinyServer } from './tinyServer';

let scratch: string;
let server: TinyServer;
const count = (file: string) => server.imageTokens(file);

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'lens-tiling-'));
  server = await TinyServer.start(tinyModel('sentence'), 16384);
});
after(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('reference tiling through llama.cpp', () => {
  test('1920×1080 at 12 tiles: 8 tiles + thumbnail (2306 tokens with markers), not llama.cpp\'s 13', async () => {
    const original = path.join(scratch, 'wide.png');
    await writeFile(original, testPng(1920, 1080));
    assert.equal(await count(original), 2 + 13 * 256, 'as sent, llama.cpp picks 4×3 + thumbnail');
    const prepared = await prepareForModel(original, { outDir: scratch, key: 'wide', maxTiles: 12 });
    assert.equal(await count(prepared.modelPath), 2306);
    assert.equal(prepared.tokens, 2306);
  });

  for (const [w, h, maxTiles] of [
    [800, 600, 12],
    [1080, 1920, 12],
    [2560, 1440, 6],
    [8000, 300, 12],
    [300, 200, 1],
    [1920, 1080, 2],
  ] as const) {
    test(`${w}×${h} at ${maxTiles} tiles: llama.cpp's count equals the reference grid's`, async () => {
      const original = path.join(scratch, `${w}x${h}.png`);
      await writeFile(original, testPng(w, h, 'solid'));
      const prepared = await prepareForModel(original, { outDir: scratch, key: `${w}x${h}`, maxTiles });
      assert.equal(await count(prepared.modelPath), imageTokenCount(referenceGrid(w, h, 1, maxTiles)));
    });
  }
});
