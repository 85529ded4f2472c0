// Pre-flight checks on broken model files made by the tiny-model generator. Each of these files
// would make llama.cpp fail or abort; the checks must refuse them before any native load, with a
// message that names the file, the problem and the setting that fixes it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { LocalEngine } from '../../src/engine/local/localEngine';
import { modelDisplayName, preflightModelFiles } from '../../src/engine/local/preflight';
import { writeTinyInternVL, type TinyInternVLOptions } from '../fixtures/tiny-model/tiny-internvl';
import { freePort } from '../../src/engine/local/llamaServer';
import { testLlamaServer, testLlamaServerPath } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-preflight-'));
let counter = 0;

/** The pair with the mmproj's u32 value of `key` set to `value` (the fixture writer keeps values in range). */
async function withMmprojU32(key: string, value: number) {
  const files = await pair();
  const bytes = readFileSync(files.mmprojPath);
  const at = bytes.indexOf(Buffer.from(key)) + key.length + 4; // past the key and its type
  bytes.writeUInt32LE(value, at);
  writeFileSync(files.mmprojPath, bytes);
  return files;
}

function pair(knobs: Omit<TinyInternVLOptions, 'dir' | 'script'> = {}) {
  return writeTinyInternVL({ dir: join(scratch, String(counter++)), script: 'Hi.', ...knobs });
}

async function refusal(files: { modelPath: string; mmprojPath: string }): Promise<EngineError> {
  try {
    await preflightModelFiles(files);
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the files to be refused');
}

/**
 * Starts llama-server on a pair (it may abort) and says how that went: loaded, or how it ended.
 * With its warm-up (an image encoded at load), so a projector that breaks on encoding breaks here.
 */
async function loadNatively(files: { modelPath: string; mmprojPath: string }): Promise<string> {
  const port = await freePort();
  const args = ['--model', files.modelPath, '--mmproj', files.mmprojPath, '--ctx-size', '1024', '--threads', '1', '--n-gpu-layers', '0', '--host', '127.0.0.1', '--port', String(port), '--no-webui'];
  return new Promise((resolve) => {
    const child = spawn(testLlamaServerPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let loaded = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const onData = (d: Buffer) => {
      log = (log + d.toString()).slice(-65536);
      if (!loaded && /model loaded/.test(log)) {
        loaded = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(loaded ? 'loaded' : (signal ?? `exit ${code}`));
    });
  });
}

describe('the broken files made for these tests', () => {
  it('really break llama.cpp: each aborts, crashes or is refused by llama-server', async () => {
    const outcomes = {
      good: await loadNatively(await pair()),
      truncatedModel: await loadNatively(await pair({ truncate: { llm: 100_000 } })),
      int32InMmproj: await loadNatively(await pair({ int32Keys: ['clip.vision.projector.scale_factor'] })),
      int32InModel: await loadNatively(await pair({ int32Keys: ['qwen2.embedding_length'] })),
      projectionMismatch: await loadNatively(await pair({ projectionDim: 96 })),
      audioProjector: await loadNatively(await pair({ projectorType: 'ultravox', hasVisionEncoder: false })),
      // Found by the GGUF fuzz test (gguf-fuzz.test.ts): one flipped byte of the scale factor.
      scaleNotDividingGrid: await loadNatively(await withMmprojU32('clip.vision.projector.scale_factor', 45_314)),
    };
    assert.equal(outcomes.good, 'loaded');
    assert.match(outcomes.int32InMmproj, /SIGABRT|exit 134/, 'GGML_ASSERT on the wrong integer type');
    assert.match(outcomes.scaleNotDividingGrid, /SIGABRT|exit 134/, 'GGML_ASSERT in ggml_reshape');
    for (const [name, outcome] of Object.entries(outcomes)) {
      if (name !== 'good') assert.notEqual(outcome, 'loaded', `${name}: ${outcome}`);
    }
  });
});

describe('pre-flight checks on model files', () => {
  it('accept a good pair and derive the most tokens one image can take', async () => {
    const { modelPath, mmprojPath } = await pair();
    assert.deepEqual(await preflightModelFiles({ modelPath, mmprojPath }), { modelPath, modelName: 'tiny-internvl3', mmprojPath, maxImageTokens: 13 * 256 + 2 });
    const fewTiles = await pair({ maxTiles: 4 });
    assert.equal((await preflightModelFiles(fewTiles)).maxImageTokens, 5 * 256 + 2);
    assert.deepEqual(await preflightModelFiles({ modelPath, mmprojPath: '' }), {
      modelPath,
      modelName: 'tiny-internvl3',
      mmprojPath: null,
      maxImageTokens: null,
    });
  });

  it('name a model before it is loaded as once loaded (general.name), and a file it cannot read by its file name', async () => {
    const { modelPath } = await pair({ name: 'InternVL3 Tiny Test' });
    assert.equal(await modelDisplayName(modelPath), 'InternVL3 Tiny Test');
    assert.equal((await preflightModelFiles({ modelPath, mmprojPath: '' })).modelName, 'InternVL3 Tiny Test');
    assert.equal(await modelDisplayName(join(scratch, 'missing', 'InternVL3-1B-Instruct-Q8_0.gguf')), 'InternVL3-1B-Instruct-Q8_0');
    const notGguf = join(scratch, 'notes.gguf');
    writeFileSync(notGguf, 'not a model');
    assert.equal(await modelDisplayName(notGguf), 'notes');
  });

  it('refuse a truncated model file, with sizes', async () => {
    const files = await pair({ truncate: { llm: 100_000 } });
    const err = await refusal(files);
    assert.equal(err.code, 'model-file-invalid');
    assert.equal(err.setting, 'internvlLens.modelPath');
    assert.ok(err.message.includes(files.modelPath));
    assert.match(err.message, /is truncated: it has 100000 bytes but its tensors need \d+/);
  });

  it('refuse an mmproj cut off inside its header', async () => {
    const files = await pair({ truncate: { mmproj: 300 } });
    const err = await refusal(files);
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.ok(err.message.includes(files.mmprojPath));
    assert.match(err.message, /is truncated: it has 300 bytes/);
  });

  it('refuse a key stored with the wrong integer type, in either file', async () => {
    const mmproj = await refusal(await pair({ int32Keys: ['clip.vision.projection_dim'] }));
    assert.equal(mmproj.setting, 'internvlLens.mmprojPath');
    assert.match(mmproj.message, /stores clip\.vision\.projection_dim as int32 where llama\.cpp expects uint32/);
    const llm = await refusal(await pair({ int32Keys: ['qwen2.embedding_length'] }));
    assert.equal(llm.setting, 'internvlLens.modelPath');
    assert.match(llm.message, /model file .* stores qwen2\.embedding_length as int32/);
  });

  it('refuse an mmproj whose scale factor does not divide its patch grid, naming the keys and their offsets', async () => {
    const files = await withMmprojU32('clip.vision.projector.scale_factor', 45_314);
    const err = await refusal(files);
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.match(err.message, /has an image grid llama\.cpp cannot shuffle: clip\.vision\.image_size 448 \(at byte \d+\) over clip\.vision\.patch_size 14 \(at byte \d+\) makes 32 patches a side, which clip\.vision\.projector\.scale_factor 45314 \(at byte \d+\) does not divide/);
    // 3 does not divide 32 patches either; 4 does.
    await refusal(await withMmprojU32('clip.vision.projector.scale_factor', 3));
    assert.equal((await preflightModelFiles(await withMmprojU32('clip.vision.projector.scale_factor', 4))).maxImageTokens, 13 * 64 + 2);
  });

  it('refuse an mmproj whose projection size does not match the model', async () => {
    const files = await pair({ projectionDim: 96 });
    const err = await refusal(files);
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.match(err.message, /projection_dim is 96 but the model's qwen2\.embedding_length is 64/);
    assert.match(err.message, /Choose the mmproj published with this model/);
  });

  it('refuse a missing mmproj, naming it and its setting', async () => {
    const files = await pair({ writeMmproj: false });
    const err = await refusal(files);
    assert.equal(err.code, 'model-file-missing');
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.equal(err.message, `The mmproj file ${files.mmprojPath} does not exist. Choose the file in the setting internvlLens.mmprojPath.`);
  });

  it('refuse a projector that is not a vision projector', async () => {
    const err = await refusal(await pair({ projectorType: 'ultravox', hasVisionEncoder: false }));
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.match(err.message, /is not a vision projector \(projector type ultravox has no vision encoder\)/);
  });

  it('tell which file is which when the two settings are swapped', async () => {
    const files = await pair();
    const asModel = await refusal({ modelPath: files.mmprojPath, mmprojPath: files.modelPath });
    assert.equal(asModel.setting, 'internvlLens.modelPath');
    assert.match(asModel.message, /is a vision projector \(mmproj\), not the language model/);
    const asMmproj = await refusal({ modelPath: files.modelPath, mmprojPath: files.modelPath });
    assert.equal(asMmproj.setting, 'internvlLens.mmprojPath');
    assert.match(asMmproj.message, /its architecture is qwen2; an mmproj has clip/);
  });

  it('keep the engine from starting llama-server for a broken file', async () => {
    const files = await pair({ int32Keys: ['clip.vision.projector.scale_factor'] });
    const engine = new LocalEngine({
      server: testLlamaServer,
      settings: () => ({ ...files, contextSize: 2048, gpuLayers: 0, threads: 1, idleUnloadMinutes: 0 }),
      log: () => undefined,
    });
    await assert.rejects(engine.chat([{ role: 'user', text: 'hi', images: [] }], { maxTokens: 4, temperature: 0 }, () => undefined), /scale_factor as int32/);
    assert.equal(engine.serverPid, undefined);
    assert.equal(engine.state.kind, 'idle');
    await engine.dispose();
  });
});
