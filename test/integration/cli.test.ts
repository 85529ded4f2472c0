// The headless CLI, run as a user or a script runs it: bin/internvl-lens in a child process, on
// the built bundles and the tiny models.
import { strict as assert } from 'node:assert';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransform, gridPixelSize, imageTokenCount, pixelRectFromCrop, referenceGrid } from '../../src/images';
import { refineWindow } from '../../src/images/refine';
import * as v from 'valibot';
import { GroundingResult } from '../../src/protocol/grounding';
import { describe, it } from 'node:test';
import { encodePng, solidImage } from '../fixtures/png';
import { modelFlags, runCli, tinyModel } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-cli-'));
const screenshot = join(scratch, 'screen.png');
writeFileSync(screenshot, encodePng(800, 600, solidImage(800, 600, [230, 230, 230, 255])));

const cli = runCli;

describe('internvl-lens CLI', () => {
  it('ask prints the answer and stats as JSON', async () => {
    const r = await cli('ask', screenshot, 'What does this show?', ...modelFlags('sentence'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { command: string; answer: string; image: unknown; regions: unknown[]; stats: { imageTokens: number } };
    assert.equal(out.command, 'ask');
    assert.equal(out.answer, tinyModel('sentence').answer);
    // Sent on InternVL's reference grid (800×600 → 4×3 + thumbnail), as the chat sends it, not
    // llama.cpp's letterboxed 2×2 (1282 tokens).
    const grid = referenceGrid(800, 600, 1, 12);
    assert.deepEqual(out.image, { path: screenshot, width: 800, height: 600, devicePixelRatio: 1, model: { ...grid, tokens: imageTokenCount(grid) } });
    assert.ok(v.safeParse(GroundingResult, out).success, 'the public grounding schema (src/protocol/grounding.ts)');
    assert.deepEqual(out.regions, []);
    assert.equal(out.stats.imageTokens, imageTokenCount(grid));
    assert.equal(imageTokenCount(grid), 3330);
  });

  it('ground prints the regions in the original image pixels', async () => {
    const r = await cli('ground', screenshot, 'the Save button', ...modelFlags('grounding'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { question: string; regions: unknown[] };
    assert.match(out.question, /<ref>the Save button<\/ref>/);
    // The script's boxes, 0..1000 of 800×600: [100,200,300,400] → x·0.8, y·0.6.
    assert.deepEqual(out.regions, [
      { kind: 'box', label: 'Save button', box: [80, 120, 240, 240], normalized: [0.1, 0.2, 0.3, 0.4] },
      { kind: 'box', label: 'icons', box: [400, 60, 520, 150], normalized: [0.5, 0.1, 0.65, 0.25] },
      { kind: 'box', label: 'icons', box: [560, 360, 720, 570], normalized: [0.7, 0.6, 0.9, 0.95] },
    ]);
  });

  it('ground --refine: a second pass per box on its zoomed-in window, whose answer lands in the window, mapped to original pixels', async () => {
    // 2400×1350 on at most 2 tiles is shrunk 2.7× (896×448): auto refines. The scripted model gives
    // the same 0..1000 boxes every time, so the second answer is the script's boxes in each window.
    const big = join(scratch, 'big.png');
    writeFileSync(big, encodePng(2400, 1350, solidImage(2400, 1350, [230, 230, 230, 255])));
    const r = await cli('ground', big, 'the Save button', '--max-tiles', '2', '--refine', 'auto', ...modelFlags('grounding'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as GroundingResult;
    assert.ok(v.safeParse(GroundingResult, out).success, 'the public grounding schema');
    const refinement = out.refinement!;
    assert.ok(refinement, 'a refinement is reported');
    // The first pass: the script's boxes over the whole image.
    assert.deepEqual(
      refinement.coarse.map((c) => c.kind === 'box' && c.box),
      [
        [240, 270, 720, 540],
        [1200, 135, 1560, 338],
        [1680, 810, 2160, 1283],
      ],
    );
    // The third box is large (480×473 px): its window (1440×1350) on 2 tiles is seen no sharper
    // than the whole image, so it keeps its first-pass box and costs no pass.
    assert.equal(refinement.passes, 2);
    assert.deepEqual(refinement.refined, [true, true, false]);
    assert.equal(refinement.answers.length, 2);
    assert.equal(refinement.windows[2], null);
    assert.deepEqual(out.regions[2], refinement.coarse[2]);
    const full = createTransform({ stored: { width: 2400, height: 1350 }, model: gridPixelSize(referenceGrid(2400, 1350, 1, 2)) });
    for (const i of [0, 1]) {
      const w = refinement.windows[i]!;
      assert.ok(w.width >= 448 && w.height >= 448 && w.x + w.width <= 2400 && w.y + w.height <= 1350, `window ${i} inside the image: ${JSON.stringify(w)}`);
      assert.deepEqual(w, pixelRectFromCrop(refineWindow(full, { kind: 'box', label: null, box: refinement.coarse[i]!.normalized as [number, number, number, number] }, 2)!));
      // The second answer lands in the window.
      const got = out.regions[i]!;
      assert.ok(got.kind === 'box' && got.box[0] >= w.x && got.box[1] >= w.y && got.box[2] <= w.x + w.width && got.box[3] <= w.y + w.height, `refined ${JSON.stringify(got)} in window ${JSON.stringify(w)}`);
      assert.notDeepEqual(got, refinement.coarse[i]);
    }
    // Box 0: the window's answer nearest the coarse box is the script's first box, 0..1000 of the window.
    const w0 = refinement.windows[0]!;
    assert.deepEqual(out.regions[0]!.kind === 'box' && out.regions[0]!.box, [w0.x + 0.1 * w0.width, w0.y + 0.2 * w0.height, w0.x + 0.3 * w0.width, w0.y + 0.4 * w0.height].map(Math.round));
    assert.ok(refinement.promptTokens > 0 && refinement.imageTokens > 0 && refinement.milliseconds > 0, JSON.stringify(refinement));
    // --refine off: one pass, no refinement.
    const off = JSON.parse((await cli('ground', big, 'the Save button', '--max-tiles', '2', '--refine', 'off', ...modelFlags('grounding'))).stdout) as GroundingResult;
    assert.equal(off.refinement, undefined);
    assert.deepEqual(off.regions, refinement.coarse);
  });

  it('reports a bad setup as a JSON error naming the fix, with exit code 1', async () => {
    const missing = join(scratch, 'missing-mmproj.gguf');
    const r = await cli('ask', screenshot, 'hi', '--model', tinyModel('sentence').modelPath, '--mmproj', missing);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string; setting: string } };
    assert.equal(err.error.code, 'model-file-missing');
    assert.equal(err.error.setting, 'internvlLens.mmprojPath');
    assert.ok(err.error.message.includes(missing));
  });

  it('names a --llama-server that is not there, with exit code 1', async () => {
    const missing = join(scratch, 'no-llama-server');
    const r = await cli('ask', screenshot, 'hi', ...modelFlags('sentence'), '--llama-server', missing);
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    assert.match(err.error.message, new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, which is not a file`));
  });

  it('refuses an image over 50 MB from its size, without reading it (a bounded read)', async () => {
    const huge = join(scratch, 'huge.png');
    writeFileSync(huge, '');
    truncateSync(huge, 60 * 1024 * 1024);
    const r = await cli('ask', huge, 'hi', ...modelFlags('sentence'));
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    assert.equal(err.error.code, 'bad-request');
    assert.equal(err.error.message, `The image ${huge} is 60.0 MB; files over 50.0 MB are refused.`);
  });

  it('prints usage for a wrong command line, with exit code 2', async () => {
    const r = await cli('describe', screenshot);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: internvl-lens ask IMAGE "question" \| ground IMAGE "target"/);
  });
});
