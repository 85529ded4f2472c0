// How the local engine starts llama-server and keeps its log: the command line and the bounded log.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BoundedLog, serverArgs, type ServerLaunch } from '../../src/engine/local/llamaServer';

const launch: ServerLaunch = {
  executable: '/opt/llama/llama-server',
  env: {},
  modelPath: '/m/model.gguf',
  modelName: 'InternVL3-14B',
  mmprojPath: '/m/mmproj.gguf',
  contextSize: 8192,
  gpuLayers: -1,
  threads: 0,
  parallel: 2,
};

describe('llama-server command line', () => {
  it('private endpoint, no web UI, tags kept, slots sharing the whole context; the key is not on it', () => {
    const args = serverArgs(launch, 40123);
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(value('--host'), '127.0.0.1');
    assert.equal(value('--port'), '40123');
    assert.equal(value('--model'), '/m/model.gguf');
    assert.equal(value('--mmproj'), '/m/mmproj.gguf');
    assert.equal(value('--alias'), 'InternVL3-14B');
    assert.equal(value('--ctx-size'), '8192');
    assert.equal(value('--n-gpu-layers'), '999', '-1: every layer on the GPU');
    assert.equal(value('--parallel'), '2');
    for (const flag of ['--special', '--no-webui', '--kv-unified', '--jinja']) assert.ok(args.includes(flag), flag);
    assert.ok(!args.includes('--threads'), '0: llama.cpp picks');
    assert.ok(!args.includes('--api-key'), 'the key goes in the environment: a command line is visible to every user');
  });

  it('CPU only: no layers and no projector on the GPU; a text-only model gets no --mmproj', () => {
    const args = serverArgs({ ...launch, gpuLayers: 0, threads: 4, mmprojPath: null }, 1);
    assert.equal(args[args.indexOf('--n-gpu-layers') + 1], '0');
    assert.equal(args[args.indexOf('--threads') + 1], '4');
    assert.ok(args.includes('--no-mmproj-offload'));
    assert.ok(!args.includes('--mmproj'));
  });
});

describe('the bounded server log', () => {
  it('keeps only the last part of what the server printed', () => {
    const log = new BoundedLog(1000);
    for (let i = 0; i < 10_000; i++) log.append(`line ${i}\n`);
    assert.ok(log.size <= 1000, `holds ${log.size}`);
    assert.match(log.text(), /line 9999\n$/);
    assert.doesNotMatch(log.text(), /line 1\n/);
    log.append('x'.repeat(5000));
    assert.equal(log.size, 1000, 'one piece larger than the bound is cut to its end');
  });

  it('names the lines that say what went wrong', () => {
    const log = new BoundedLog();
    log.append('load_tensors: loading model\nclip_init: failed to load mmproj: projection dim mismatch\nmain: exiting due to model loading error\n');
    assert.equal(log.reason(), 'clip_init: failed to load mmproj: projection dim mismatch / main: exiting due to model loading error');
  });
});
