// `internvl-lens batch` as a script runs it: bin/internvl-lens in a child process on the tiny
// grounding model, a corrupt and a missing file among good ones, a glob, then --resume.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as v from 'valibot';
import { GroundingResult } from '../../src/protocol/grounding';
import { encodePng, solidImage } from '../fixtures/png';
import { ROOT, testLlamaServerPath, tinyModel } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-batch-'));
const shots = join(scratch, 'shots');
mkdirSync(shots);
const sizes: Record<string, [number, number]> = { 'a.png': [800, 600], 'b.png': [400, 300], 'c.png': [1000, 500] };
for (const [name, [w, h]] of Object.entries(sizes)) writeFileSync(join(shots, name), encodePng(w, h, solidImage(w, h, [230, 230, 230, 255])));
writeFileSync(join(shots, 'broken.png'), Buffer.concat([encodePng(8, 8, solidImage(8, 8)).subarray(0, 20), Buffer.alloc(64, 0xab)]));
const missing = join(scratch, 'missing.png');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function batch(...args: string[]): Promise<Run> {
  const m = tinyModel('grounding');
  const flags = ['--model', m.modelPath, '--mmproj', m.mmprojPath, '--threads', '2', '--gpu-layers', '0', '--llama-server', testLlamaServerPath()];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'internvl-lens'), 'batch', ...args, ...flags], { cwd: scratch });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

type Line = { image: { path: string; width?: number }; regions?: { box: number[] }[]; error?: { code: string; message: string }; stats?: { generatedTokens: number } };
const lines = (path: string): Line[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('internvl-lens batch on the tiny grounding model', () => {
  const out = join(scratch, 'results.jsonl');

  it('answers every image (a glob among paths), one JSON line each; bad files get error lines and the run goes on; exit code 64 + failures', async () => {
    const r = await batch('--ground', 'the Save button', 'shots/*.png', missing, '--out', out);
    assert.equal(r.code, 64 + 2, r.stderr);
    assert.equal(r.stdout, '', 'results go to --out only');
    const got = lines(out);
    assert.equal(got.length, 5);
    const byPath = new Map(got.map((l) => [l.image.path, l]));
    for (const [name, [w, h]] of Object.entries(sizes)) {
      const line = byPath.get(join(shots, name))!;
      assert.ok(line, `${name} has a line`);
      assert.ok(v.safeParse(GroundingResult, line).success, `${name}: the public grounding schema`);
      // [100,200,300,400] of 0..1000 → pixels of this image.
      assert.deepEqual(line.regions![0]!.box, [w * 0.1, h * 0.2, w * 0.3, h * 0.4]);
      assert.ok(line.stats!.generatedTokens > 0);
    }
    assert.equal(byPath.get(join(shots, 'broken.png'))!.error!.code, 'bad-image');
    assert.match(byPath.get(join(shots, 'broken.png'))!.error!.message, /broken\.png cannot be decoded for the model \(Input file has corrupt header/);
    assert.match(byPath.get(missing)!.error!.message, /missing\.png cannot be read: ENOENT/);
    // Progress on stderr, one line per image, and a summary.
    assert.equal(r.stderr.match(/^\[\d\/5\] /gm)?.length, 5, r.stderr);
    assert.match(r.stderr, /batch: 3 answered, 2 failed, 0 skipped in [\d.]+ s \([\d.]+ images\/min\)/);
  });

  it('refuses to write over a results file without --resume', async () => {
    const before = readFileSync(out, 'utf8');
    const r = await batch('--ground', 'the Save button', 'shots/*.png', '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /results\.jsonl already holds results: add --resume/);
    assert.equal(readFileSync(out, 'utf8'), before, 'nothing lost');
  });

  it('--resume (on the folder) asks only the images without a result: new ones and the failed ones', async () => {
    writeFileSync(join(shots, 'd.png'), encodePng(200, 100, solidImage(200, 100, [230, 230, 230, 255])));
    // A line cut short by a stopped run: ignored, its image asked again.
    writeFileSync(out, `${readFileSync(out, 'utf8')}{"image":{"path":"${join(shots, 'd.png')}"},"answ`);
    // A folder stands for its images.
    const r = await batch('--ground', 'the Save button', 'shots', '--out', out, '--resume');
    assert.equal(r.code, 64 + 1, r.stderr);
    assert.match(r.stderr, /batch: 2 images to ask \(3 already answered in /);
    const text = readFileSync(out, 'utf8');
    const parsed = text.split('\n').filter(Boolean).flatMap((l) => {
      try {
        return [JSON.parse(l) as Line];
      } catch {
        return [];
      }
    });
    const answered = parsed.filter((l) => !l.error).map((l) => l.image.path.slice(shots.length + 1)).sort();
    assert.deepEqual(answered, ['a.png', 'b.png', 'c.png', 'd.png'], 'each good image answered once');
    assert.deepEqual(parsed.find((l) => l.image.path.endsWith('d.png') && !l.error)!.regions![0]!.box, [20, 20, 60, 40]);
    assert.equal(parsed.filter((l) => l.error && l.image.path.endsWith('broken.png')).length, 2, 'the broken file tried again');
  });

  it('prints usage for a batch without a question, with exit code 2', async () => {
    const r = await batch('shots/a.png', '--out', join(scratch, 'x.jsonl'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /batch needs one of --question Q or --ground TARGET/);
  });
});
