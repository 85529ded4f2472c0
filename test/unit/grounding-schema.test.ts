// The public grounding schema has two spellings — valibot in src/protocol/grounding.ts and the JSON
// Schema in schemas/ that other programs read — and they must agree on every input, generated ones
// included. toPublicRegion must always produce something both accept.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import fc from 'fast-check';
import * as v from 'valibot';
import type { Quad } from '../../src/grounding';
import { createTransform, toPublicRegion } from '../../src/images';
import { GROUNDING_SCHEMA, GroundingResult } from '../../src/protocol/grounding';

const jsonSchema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'grounding-result.v1.json'), 'utf8')) as object;
const ajvValidate = new Ajv({ strict: false }).compile(jsonSchema);

const good = {
  schema: GROUNDING_SCHEMA,
  image: { path: '/tmp/screen.png', width: 800, height: 600, devicePixelRatio: 2 },
  answer: '<ref>Save</ref><box>[[100, 200, 300, 400]]</box>',
  annotatedImage: '/tmp/screen.annotated.png',
  regions: [
    { kind: 'box', label: 'Save', box: [80, 120, 240, 240], normalized: [0.1, 0.2, 0.3, 0.4] },
    { kind: 'point', label: null, point: [10, 20], normalized: [0.0125, 0.0333] },
    { kind: 'quad', label: 'stamp', quad: [80, 120, 240, 130, 230, 240, 70, 230], normalized: [0.1, 0.2, 0.3, 0.2167, 0.2875, 0.4, 0.0875, 0.3833] },
  ],
};

describe('public grounding schema', () => {
  it('both spellings accept a real result', () => {
    assert.ok(v.safeParse(GroundingResult, good).success);
    assert.ok(ajvValidate(good), JSON.stringify(ajvValidate.errors));
  });

  it('both spellings agree on generated mutations of a result', () => {
    const mutate = fc.record({
      path: fc.constantFrom('schema', 'image.width', 'image.devicePixelRatio', 'regions.0.kind', 'regions.0.box', 'regions.0.box.2', 'regions.0.normalized.1', 'regions.1.point', 'regions.1.label', 'regions.2.quad', 'regions.2.quad.7', 'regions.2.normalized.5', 'regions.2.kind', 'answer', 'annotatedImage', 'regions'),
      value: fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.double({ noNaN: false }), fc.string(), fc.constant(null), fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 9 }), fc.constantFrom('box', 'point', 'quad', GROUNDING_SCHEMA)),
    });
    fc.assert(
      fc.property(mutate, ({ path, value }) => {
        const copy = structuredClone(good) as Record<string, unknown>;
        const keys = path.split('.');
        let at = copy as Record<string, unknown>;
        for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[keys.at(-1)!] = value;
        // JSON has no NaN or Infinity: compare what would actually travel.
        const travelled = JSON.parse(JSON.stringify(copy)) as unknown;
        const byValibot = v.safeParse(GroundingResult, travelled).success;
        const byJsonSchema = ajvValidate(travelled);
        assert.equal(byValibot, byJsonSchema, `${path} = ${JSON.stringify(value)}: valibot ${byValibot}, JSON Schema ${byJsonSchema}`);
      }),
      { numRuns: 2000, seed: 20261202 },
    );
  });

  it('toPublicRegion gives whole pixels inside the image for any model answer, even out of range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.double({ min: -0.5, max: 1.5, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (width, height, orientation, values) => {
          const [a, b, c, d] = values;
          const t = createTransform({ stored: { width, height }, orientation, model: { width: 448, height: 448 } });
          const up = orientation >= 5 ? { w: height, h: width } : { w: width, h: height };
          const result = {
            schema: GROUNDING_SCHEMA,
            image: { width: up.w, height: up.h, devicePixelRatio: 1 },
            answer: '',
            regions: [toPublicRegion(t, { kind: 'box', label: 'x', box: [a!, b!, c!, d!] }), toPublicRegion(t, { kind: 'point', label: null, point: [a!, b!] }), toPublicRegion(t, { kind: 'quad', label: null, quad: values as Quad })],
          };
          assert.ok(v.safeParse(GroundingResult, result).success, JSON.stringify(result));
          assert.ok(ajvValidate(result), JSON.stringify(ajvValidate.errors));
          const [box, point] = result.regions;
          if (box?.kind === 'box') assert.ok(box.box[2] <= up.w && box.box[3] <= up.h, `box inside ${up.w}×${up.h}: ${box.box}`);
          if (point?.kind === 'point') assert.ok(point.point[0] <= up.w && point.point[1] <= up.h);
          const quad = result.regions[2];
          if (quad?.kind === 'quad') assert.ok(quad.quad.every((n, k) => n <= (k % 2 === 0 ? up.w : up.h)), `quad inside ${up.w}×${up.h}: ${quad.quad}`);
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });
});
