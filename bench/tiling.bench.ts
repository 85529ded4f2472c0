// Image tokens the model is given: the extension's images (resized to InternVL's reference grid)
// against the same screenshots sent as they are, tiled by llama.cpp's own rule (its "least wasted
// area" grid with letterboxing). Counted by llama.cpp itself (`tokenize` with the image) on the
// tiny model through the real llama-server (the test build). Budget: exactly InternVL's reference count.
//   node --import tsx bench/tiling.bench.ts
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { imageTokenCount, prepareForModel, referenceGrid } from '../src/images';
import { ensureFixtures } from '../test/fixtures/generate';
import { testPng } from '../test/fixtures/png';
import { TinyServer } from '../test/integration/tinyServer';
import { reportBench } from './report';

/** Screens people capture, at the default of 12 tiles. */
const SCREENS = [
  [1920, 1080],
  [2560, 1440],
  [1280, 800],
  [800, 600],
] as const;

async function main(): Promise<void> {
  const { modelPath, mmprojPath } = (await ensureFixtures()).sentence;
  const scratch = await mkdtemp(path.join(tmpdir(), 'lens-tiling-bench-'));
  const server = await TinyServer.start({ modelPath, mmprojPath }, 16384);
  const count = (file: string) => server.imageTokens(file);
  try {
    console.log(`${'screen'.padEnd(11)} ${'ours'.padStart(6)} ${'InternVL reference'.padStart(19)} ${'llama.cpp as sent'.padStart(18)}  ours ÷ llama.cpp`);
    const rows = [];
    for (const [w, h] of SCREENS) {
      const original = path.join(scratch, `${w}x${h}.png`);
      await writeFile(original, testPng(w, h));
      const prepared = await prepareForModel(original, { outDir: scratch, key: `${w}x${h}`, maxTiles: 12 });
      const ours = await count(prepared.modelPath);
      const llamaDefault = await count(original);
      const reference = imageTokenCount(referenceGrid(w, h, 1, 12));
      console.log(`${`${w}×${h}`.padEnd(11)} ${String(ours).padStart(6)} ${String(reference).padStart(19)} ${String(llamaDefault).padStart(18)}  ${(ours / llamaDefault).toFixed(2)}×`);
      rows.push({ name: `image tokens, ${w}×${h} (= InternVL's reference tiling)`, value: ours, unit: 'tokens', budget: reference, note: `llama.cpp's own tiling: ${llamaDefault} (ours ${(ours / llamaDefault).toFixed(2)}×)` });
      if (ours !== reference) process.exitCode = 1;
    }
    reportBench('tiling', rows);
  } finally {
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
