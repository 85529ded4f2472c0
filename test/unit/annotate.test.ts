// The exported annotated PNG: original resolution, regions drawn on the right pixels in their colours.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { labelColour, type Region } from '../../src/grounding';
import { createTransform, renderAnnotated } from '../../src/images';
import { loadSharp } from '../../src/images/prepare';
import { encodePng, solidImage } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-annotate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

describe('renderAnnotated', () => {
  for (const [w, h] of [
    [1920, 1080],
    [300, 700],
    [8000, 1000],
  ] as const) {
    it(`${w}×${h}: boxes and points drawn at original resolution on the expected pixels`, async () => {
      const file = join(dir, `${w}x${h}.png`);
      writeFileSync(file, encodePng(w, h, solidImage(w, h, [255, 255, 255, 255])));
      const regions: Region[] = [
        { kind: 'box', label: 'Save', box: [0.1, 0.2, 0.5, 0.6] },
        { kind: 'point', label: null, point: [0.75, 0.5] },
      ];
      const t = createTransform({ stored: { width: w, height: h }, model: { width: 896, height: 448 } });
      const png = await renderAnnotated(file, t, regions);
      const sharp = await loadSharp();
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height], [w, h], 'original resolution');
      const at = (x: number, y: number) => [...data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
      const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) <= 2);
      const box = rgb(labelColour('Save'));
      const x1 = Math.round(0.1 * w);
      const x2 = Math.round(0.5 * w);
      const midY = Math.round(0.4 * h);
      // The stroke lies just inside the box edges, and nowhere else.
      assert.ok(near(at(x1, midY), box), `left edge at ${x1}: ${at(x1, midY)} vs ${box}`);
      assert.ok(near(at(x2 - 1, midY), box), `right edge at ${x2 - 1}: ${at(x2 - 1, midY)}`);
      assert.ok(near(at(x1 - 2, midY), [255, 255, 255]), 'outside the box stays white');
      assert.ok(near(at(Math.round(0.3 * w), midY), [255, 255, 255]), 'inside the box stays white');
      assert.ok(near(at(Math.round(0.75 * w), Math.round(0.5 * h)), rgb(labelColour(null))), 'the point is marked at its pixel');
    });
  }

  it('a quad is drawn as its polygon: edges painted, the bounding box corner and the inside left alone', async () => {
    const [w, h] = [1000, 800];
    const file = join(dir, 'quad.png');
    writeFileSync(file, encodePng(w, h, solidImage(w, h, [255, 255, 255, 255])));
    const t = createTransform({ stored: { width: w, height: h }, model: { width: 896, height: 448 } });
    const png = await renderAnnotated(file, t, [{ kind: 'quad', label: null, quad: [0.5, 0.1, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5] }]);
    const sharp = await loadSharp();
    const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) <= 40);
    const colour = rgb(labelColour(null));
    // Edge midpoints of the diamond (500,80)-(900,400)-(500,720)-(100,400).
    for (const [x, y] of [[700, 240], [700, 560], [300, 560], [300, 240]] as const) assert.ok(near(at(x, y), colour), `edge at ${x},${y}: ${at(x, y)}`);
    assert.ok(near(at(150, 700), [255, 255, 255]), 'outside the polygon stays white');
    assert.ok(near(at(500, 400), [255, 255, 255]), 'inside stays white');
  });
});
