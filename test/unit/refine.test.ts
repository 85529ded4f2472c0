// Zoom-in refine's geometry (src/images/refine.ts): when a second look is worth it, which window it
// sees, and how a box the model gives in the window's 0..1000 comes back to original pixels — within
// 1 px for any image, EXIF orientation, user crop, scale factor, window and box.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import fc from 'fast-check';
import * as v from 'valibot';
import { GroundingResult } from '../../src/protocol/grounding';
import type { Region } from '../../src/grounding';
import { createTransform, gridPixelSize, pixelCoordinates, referenceGrid, uprightSize, type Rect } from '../../src/images';
import { bestRegions, refinedGroundingResult, refineWindow, regionFromWindow, REFINE_MIN_WINDOW, shouldRefine, shrinkFactor, type RefineOutcome } from '../../src/images/refine';

const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'grounding-result.v1.json'), 'utf8')) as object);

/** The transform prepareForModel gives an image (or a crop of it) on its reference grid. */
function prepared(stored: { width: number; height: number }, options: { orientation?: number; crop?: Rect | null; devicePixelRatio?: number; maxTiles?: number } = {}) {
  const upright = uprightSize(stored, (options.orientation ?? 1) >= 5 ? 6 : 1);
  const kept = options.crop ?? { left: 0, top: 0, ...upright };
  const model = gridPixelSize(referenceGrid(kept.width, kept.height, 1, options.maxTiles ?? 12));
  return createTransform({ stored, orientation: options.orientation ?? 1, crop: options.crop ?? null, model, devicePixelRatio: options.devicePixelRatio ?? 1 });
}

describe('zoom-in refine', () => {
  it('auto refines only when the grid shrinks the image by more than 1.5×; always and off do as they say', () => {
    const uhd = prepared({ width: 3840, height: 2160 });
    const fhd = prepared({ width: 1920, height: 1080 });
    assert.ok(shrinkFactor(uhd) > 2, `4K is shrunk ${shrinkFactor(uhd)}×`);
    assert.ok(shrinkFactor(fhd) < 1.5, `1080p is shrunk ${shrinkFactor(fhd)}×`);
    assert.deepEqual(
      [shouldRefine('auto', uhd), shouldRefine('auto', fhd), shouldRefine('always', fhd), shouldRefine('off', uhd)],
      [true, false, true, false],
    );
    // Fewer tiles shrink more: 1080p on 2 tiles is shrunk past the threshold.
    assert.equal(shouldRefine('auto', prepared({ width: 1920, height: 1080 }, { maxTiles: 2 })), true);
  });

  it('a window holds its box with context, is at least 448×448, lies inside the kept part, and is null where it would show no more', () => {
    const t = prepared({ width: 3840, height: 2160 });
    const icon: Region = { kind: 'box', label: 'icon', box: [0.5, 0.5, 0.51, 0.52] };
    const w = refineWindow(t, icon, 12)!;
    assert.deepEqual([w.width, w.height], [REFINE_MIN_WINDOW, REFINE_MIN_WINDOW]);
    const [x1, y1, x2, y2] = pixelCoordinates(t, icon);
    assert.ok(w.left <= x1! && w.top <= y1! && w.left + w.width >= x2! && w.top + w.height >= y2!, 'the box is inside its window');
    // Centred on the box.
    assert.ok(Math.abs(w.left + w.width / 2 - (x1! + x2!) / 2) <= 1 && Math.abs(w.top + w.height / 2 - (y1! + y2!) / 2) <= 1);
    // At the corner: moved inside the image, not cut.
    assert.deepEqual(refineWindow(t, { kind: 'point', label: null, point: [0.999, 0.999] }, 12), { left: 3840 - 448, top: 2160 - 448, width: 448, height: 448 });
    // A large box gets three times its size.
    const big = refineWindow(t, { kind: 'box', label: null, box: [0.4, 0.4, 0.5, 0.5] }, 12)!;
    assert.deepEqual([big.width, big.height], [1152, 648]);
    // An 800×600 image is enlarged, not shrunk: a window shows nothing new.
    assert.equal(refineWindow(prepared({ width: 800, height: 600 }), icon, 12), null);
    // The user's crop bounds the window.
    const cropped = prepared({ width: 3840, height: 2160 }, { crop: { left: 1000, top: 500, width: 2800, height: 1600 } });
    const inCrop = refineWindow(cropped, { kind: 'box', label: null, box: [0, 0, 0.01, 0.01] }, 12)!;
    assert.deepEqual([inCrop.left, inCrop.top], [1000, 500]);
  });

  it('property: any box in a window’s 0..1000 maps to original pixels within 1 px (orientation, crop, scale factor)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 500, max: 8000 }),
        fc.integer({ min: 500, max: 6000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(1, 1.25, 1.5, 2, 3),
        fc.record({ l: fc.double({ min: 0, max: 0.3, noNaN: true }), t: fc.double({ min: 0, max: 0.3, noNaN: true }) }),
        fc.record({ x: fc.double({ min: 0, max: 1, noNaN: true }), y: fc.double({ min: 0, max: 1, noNaN: true }), w: fc.integer({ min: 1, max: 3000 }), h: fc.integer({ min: 1, max: 3000 }) }),
        fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })),
        (width, height, orientation, dpr, cropAt, win, [a, b, c, d]) => {
          const up = orientation >= 5 ? { width: height, height: width } : { width, height };
          const crop = { left: Math.floor(cropAt.l * up.width), top: Math.floor(cropAt.t * up.height), width: 0, height: 0 };
          crop.width = up.width - crop.left - Math.floor(cropAt.l * up.width * 0.5);
          crop.height = up.height - crop.top;
          const full = prepared({ width, height }, { orientation, crop, devicePixelRatio: dpr });
          // A window inside the kept part (any size that fits), as refineRegions would crop it.
          const ww = Math.min(win.w, crop.width);
          const wh = Math.min(win.h, crop.height);
          const window = { left: crop.left + Math.floor(win.x * (crop.width - ww)), top: crop.top + Math.floor(win.y * (crop.height - wh)), width: ww, height: wh };
          const inWindow = prepared({ width, height }, { orientation, crop: window, devicePixelRatio: dpr });
          const box: Region = { kind: 'box', label: 'x', box: [Math.min(a, c) / 1000, Math.min(b, d) / 1000, Math.max(a, c) / 1000, Math.max(b, d) / 1000] };
          const mapped = regionFromWindow(full, inWindow, box);
          const got = pixelCoordinates(full, mapped);
          const want = [window.left + (box.box[0] * window.width), window.top + box.box[1] * window.height, window.left + box.box[2] * window.width, window.top + box.box[3] * window.height];
          got.forEach((g, k) => assert.ok(Math.abs(g - want[k]!) <= 1, `coordinate ${k}: ${g} vs ${want[k]} (window ${JSON.stringify(window)})`));
          // The same place as the window's own transform gives, exactly.
          assert.deepEqual(got, pixelCoordinates(inWindow, box));
        },
      ),
      { numRuns: 1000, seed: 19 },
    );
  });

  it('the public result keeps both: regions are the refined ones where found, refinement has the first pass and the cost', () => {
    const t = prepared({ width: 3840, height: 2160 }, { devicePixelRatio: 2 });
    const coarse: Region[] = [
      { kind: 'box', label: 'Save', box: [0.5, 0.5, 0.52, 0.52] },
      { kind: 'box', label: 'Open', box: [0.1, 0.1, 0.12, 0.12] },
    ];
    const refined: Region = { kind: 'box', label: 'Save', box: [0.501, 0.502, 0.515, 0.518] };
    const outcome: RefineOutcome = { refined: [refined, null], windows: [{ left: 1766, top: 856, width: 448, height: 448 }, null], answers: ['a'], passes: 1, promptTokens: 300, imageTokens: 258, generatedTokens: 20, milliseconds: 1234 };
    assert.deepEqual(bestRegions(coarse, outcome.refined), [refined, coarse[1]]);
    const result = refinedGroundingResult(t, 'answer', coarse, outcome, '/tmp/s.png');
    assert.deepEqual(result.regions.map((r) => r.kind === 'box' && r.box), [pixelCoordinates(t, refined), pixelCoordinates(t, coarse[1]!)]);
    assert.deepEqual(result.refinement?.coarse.map((r) => r.kind === 'box' && r.box), coarse.map((r) => pixelCoordinates(t, r)));
    assert.deepEqual(result.refinement?.windows, [{ x: 1766, y: 856, width: 448, height: 448 }, null]);
    assert.deepEqual([result.refinement?.refined, result.refinement?.passes, result.refinement?.promptTokens, result.refinement?.milliseconds], [[true, false], 1, 300, 1234]);
    // Both spellings of the public schema take it.
    const travelled = JSON.parse(JSON.stringify(result)) as unknown;
    assert.ok(v.safeParse(GroundingResult, travelled).success);
    assert.ok(validate(travelled), JSON.stringify(validate.errors));
    const broken = structuredClone(travelled) as { refinement: { windows: unknown[] } };
    broken.refinement.windows[0] = { x: -1, y: 0, width: 1, height: 1 };
    assert.deepEqual([v.safeParse(GroundingResult, broken).success, validate(broken)], [false, false]);
  });
});
