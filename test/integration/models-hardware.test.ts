// Hardware for the download recommendation, asked of the real inference worker (the built bundle
// with the real llama.cpp binding): the host itself never loads the native library.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { queryHardware } from '../../src/models/hardware';
import { WorkerProcess } from '../../src/engine/local/workerProcess';
import { ROOT, WORKER_PATH } from './support';

test('the worker lists the devices each installed llama.cpp build sees, without loading a model', async () => {
  const worker = new WorkerProcess(WORKER_PATH, () => undefined);
  try {
    const { devices } = await worker.hardware();
    assert.ok(devices.length >= 1, 'at least the CPU');
    assert.ok(devices.some((d) => d.variant === 'default'));
    for (const d of devices) {
      assert.ok(d.deviceName.length > 0);
      assert.ok(d.maxMemorySize >= 0);
    }
  } finally {
    await worker.stop();
  }
  assert.equal(worker.alive, false);
});

test('queryHardware gives the GPUs and the RAM, and ends its worker', async () => {
  const logged: string[] = [];
  const profile = await queryHardware(WORKER_PATH, (_, m) => logged.push(m));
  assert.equal(profile.note, null);
  assert.equal(profile.systemMemoryBytes, totalmem());
  assert.ok(Array.isArray(profile.gpus));
  assert.ok(logged.some((m) => m.startsWith('devices: ')), logged.join('\n'));
  assert.ok(logged.some((m) => /ended/.test(m)), 'the worker ended');
});

test('the extension host bundle pulls in nothing native for models: no llama.cpp binding, no reflink', async () => {
  const host = await readFile(join(ROOT, 'dist', 'extension.js'), 'utf8');
  assert.doesNotMatch(host, /require\("@fugood\/llama\.node"\)/);
  assert.doesNotMatch(host, /reflink/);
  assert.doesNotMatch(host, /\.node"\)/);
  assert.match(host, /internvlLens\/hardware/, 'the host asks the worker instead');
});
