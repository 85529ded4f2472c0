// The local engine end to end below the UI: the real worker process, the real llama.cpp
// runtime, the generated tiny InternVL models.
import { strict as assert } from 'node:assert';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalEngine, type LocalModelSettings } from '../../src/engine/local/localEngine';
import { EngineError } from '../../src/engine/errors';
import type { ChatTurn } from '../../src/engine/engine';
import { parseRegions } from '../../src/grounding';
import { encodePng, solidImage } from '../fixtures/png';
import { tinyModel, WORKER_PATH } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-engine-'));
const png = join(scratch, 'diagram.png');
writeFileSync(png, encodePng(320, 200, solidImage(320, 200, [40, 120, 200, 255])));

function engineWith(settings: Partial<LocalModelSettings>, logs: string[] = []) {
  const grounding = tinyModel('grounding');
  return new LocalEngine({
    workerPath: WORKER_PATH,
    settings: () => ({ modelPath: grounding.modelPath, mmprojPath: grounding.mmprojPath, contextSize: 4096, gpuLayers: 0, threads: 2, ...settings }),
    log: (level, m) => logs.push(`${level}: ${m}`),
  });
}

const ask = (text: string, images: string[] = [png]): ChatTurn[] => [{ role: 'user', text, images: images.map((path) => ({ path })) }];
const options = { maxTokens: 256, temperature: 0 };

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('LocalEngine on the tiny grounding model', () => {
  const engine = engineWith({});
  after(() => engine.dispose());

  it('streams the scripted answer token by token, with stats', async () => {
    const chunks: string[] = [];
    const outcome = await engine.chat(ask('Where is the Save button?'), options, (t) => chunks.push(t));
    const expected = tinyModel('grounding').answer;
    assert.ok(chunks.length > 5, `streamed in ${chunks.length} chunks`);
    assert.equal(chunks.join(''), expected);
    assert.equal(outcome.text, expected);
    assert.equal(parseRegions(outcome.text).length, 3);
    assert.ok(outcome.stats.promptTokens >= 258, `prompt includes the image's 256 tokens (${outcome.stats.promptTokens})`);
    assert.equal(engine.state.kind, 'ready');
  });

  it('recovers after the worker is killed mid-answer', async () => {
    const endless = tinyModel('endless');
    const engine = engineWith({ modelPath: endless.modelPath, mmprojPath: endless.mmprojPath });
    try {
      let killedAt = 0;
      let pid: number | undefined;
      const err = await rejection(
        engine.chat(ask('Count forever'), { maxTokens: 1_000_000, temperature: 0 }, () => {
          if (!killedAt) {
            pid = engine.workerPid;
            killedAt = performance.now();
            process.kill(pid!, 'SIGKILL');
          }
        }),
      );
      assert.equal(err.code, 'worker-crashed');
      assert.ok(performance.now() - killedAt < 1000, 'the request failed within 1 s of the crash');
      assert.match(err.message, /stopped unexpectedly \(killed by SIGKILL\)/);
      assert.equal(engine.state.kind, 'error');
      const outcome = await engine.chat(ask('And now?'), { maxTokens: 5, temperature: 0 }, () => undefined);
      assert.ok(outcome.text.startsWith(endless.answer), outcome.text);
      assert.notEqual(engine.workerPid, pid, 'a new worker answered');
    } finally {
      await engine.dispose();
    }
  });
});

describe('LocalEngine refuses bad model settings before loading anything', () => {
  it('says which setting to fill when no model is set', async () => {
    const engine = engineWith({ modelPath: '' });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-not-configured');
    assert.equal(err.setting, 'internvlLens.modelPath');
    assert.equal(engine.workerPid, undefined, 'no worker was started');
    await engine.dispose();
  });

  it('names a missing file and its setting', async () => {
    const missing = join(scratch, 'nope', 'model.gguf');
    const engine = engineWith({ mmprojPath: missing });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-file-missing');
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.ok(err.message.includes(missing));
    await engine.dispose();
  });

  it('refuses a file that is not GGUF', async () => {
    const notGguf = join(scratch, 'model.gguf');
    writeFileSync(notGguf, 'this is not a model');
    const engine = engineWith({ modelPath: notGguf });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-file-invalid');
    assert.match(err.message, /is not a GGUF file/);
    await engine.dispose();
  });

  it('tells a text-only setup to add the mmproj file, and still answers text', async () => {
    const engine = engineWith({ mmprojPath: '' });
    const err = await rejection(engine.chat(ask('What is this?'), options, () => undefined));
    assert.equal(err.code, 'no-vision');
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.match(err.message, /cannot see images/);
    const outcome = await engine.chat(ask('Just text', []), options, () => undefined);
    assert.equal(outcome.text, tinyModel('grounding').answer);
    await engine.dispose();
  });
});
