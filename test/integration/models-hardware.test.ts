// Hardware for the download recommendation: the GPUs the operating system shows (bounded probes,
// no native library in the host) and the RAM.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { forgetHardware, queryHardware } from '../../src/models/hardware';
import { systemProbes, type Probes } from '../../src/engine/local/runtimes/gpus';
import { ROOT } from './support';

test('queryHardware gives the GPUs the probes see, with their memory, and the RAM', async () => {
  // A machine with one NVIDIA card, as nvidia-smi reports it; everything else as this machine is.
  const probes: Probes = {
    ...systemProbes,
    platform: 'linux',
    run: async (command) => (command === 'nvidia-smi' ? 'NVIDIA RTX 4090, 24564, 550.54.14\n' : null),
  };
  forgetHardware();
  const logged: string[] = [];
  const profile = await queryHardware((_, m) => logged.push(m), probes);
  forgetHardware();
  assert.equal(profile.note, null);
  assert.equal(profile.systemMemoryBytes, totalmem());
  assert.deepEqual(
    profile.gpus.filter((g) => g.name === 'NVIDIA RTX 4090'),
    [{ name: 'NVIDIA RTX 4090', memoryBytes: 24564 * 2 ** 20 }],
  );
  assert.ok(logged.some((m) => m.startsWith('GPUs: ') && m.includes('NVIDIA RTX 4090')), logged.join('\n'));
});

test('the extension host bundle pulls in nothing native for models: no llama.cpp binding, no reflink', async () => {
  const host = await readFile(join(ROOT, 'dist', 'extension.js'), 'utf8');
  assert.doesNotMatch(host, /llama\.node/);
  assert.doesNotMatch(host, /reflink/);
  assert.doesNotMatch(host, /\.node"\)/);
  assert.match(host, /--mmproj/, 'the host starts llama-server instead');
});
