import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { chooseLibVariant } from '../../src/worker/hardware';
import type { BackendDeviceInfo, LibVariant } from '../../src/worker/llama-node-api';

/** A binding whose installed builds see the given devices. */
function bindingWith(builds: Partial<Record<LibVariant, Array<Pick<BackendDeviceInfo, 'type' | 'deviceName'>>>>) {
  return {
    isLibVariantAvailable: async (v: LibVariant) => v in builds,
    getBackendDevicesInfo: async (v: LibVariant = 'default') => (builds[v] ?? []).map((d) => ({ ...d, backend: v, maxMemorySize: 0 })),
  };
}

const cpu = { type: 'cpu', deviceName: 'CPU' };
const gpu = { type: 'gpu', deviceName: 'NVIDIA H100' };

describe('chooseLibVariant', () => {
  it('prefers CUDA, then Vulkan, when the build is installed and sees a GPU', async () => {
    assert.equal((await chooseLibVariant(bindingWith({ default: [cpu], cuda: [gpu, cpu], vulkan: [gpu] }), -1, 'linux')).variant, 'cuda');
    assert.equal((await chooseLibVariant(bindingWith({ default: [cpu], vulkan: [gpu] }), -1, 'win32')).variant, 'vulkan');
  });

  it('falls back to the CPU build when no GPU build sees a GPU, and says why', async () => {
    const choice = await chooseLibVariant(bindingWith({ default: [cpu], cuda: [cpu] }), -1, 'linux');
    assert.equal(choice.variant, 'default');
    assert.match(choice.reason, /cuda: no GPU found; vulkan: not installed/);
  });

  it('keeps the default build when GPU offload is off, and on macOS (Metal)', async () => {
    const all = bindingWith({ default: [cpu], cuda: [gpu] });
    assert.equal((await chooseLibVariant(all, 0, 'linux')).variant, 'default');
    assert.equal((await chooseLibVariant(all, -1, 'darwin')).variant, 'default');
  });

  it('treats a build that throws while listing devices as unusable', async () => {
    const broken = { ...bindingWith({ default: [cpu], cuda: [gpu] }), getBackendDevicesInfo: async () => Promise.reject(new Error('libcuda.so.1: cannot open')) };
    assert.equal((await chooseLibVariant(broken, -1, 'linux')).variant, 'default');
  });
});
