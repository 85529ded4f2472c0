// The pinned llama.cpp release, which runtime suits which machine (and the line saying why), the
// GPU probes' parsers, and llama-server's --version / --list-devices parsers, on outputs in the
// formats the real tools print.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { TARGETS } from '../../scripts/runtime-packages.mjs';
import { parseDevices, parseVersion } from '../../src/engine/local/runtimes/check';
import { type GpuSeen, type MachineGpus, parseNvidiaProcVersion, parseNvidiaSmi, parseVideoControllers, probeGpus, type Probes, systemProbes } from '../../src/engine/local/runtimes/gpus';
import { recommendRuntime } from '../../src/engine/local/runtimes/recommend';
import { assetStem, cpuAsset, gpuAssets, LLAMA_RELEASE, RUNTIME_ASSETS } from '../../src/engine/local/runtimes/release';
import { ROOT } from '../integration/support';

const GiB = 2 ** 30;
const machine = (gpus: GpuSeen[], vulkanLoader: boolean | null = true): MachineGpus => ({ gpus, vulkanLoader });
const nvidia = (driver: string | null, memoryBytes = 12 * GiB): GpuSeen => ({ vendor: 'nvidia', name: 'NVIDIA GeForce RTX 4070', memoryBytes, driver });

describe('the pinned release', () => {
  test('is the release node-llama-cpp bundles the source of (the CPU build is built from it)', () => {
    const info = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8')) as { tag: string; llamaCppGithubRepo: string };
    assert.equal(LLAMA_RELEASE.release, info.tag);
    assert.equal(LLAMA_RELEASE.repo, info.llamaCppGithubRepo);
    assert.ok(LLAMA_RELEASE.nightly === null || /^b\d+$/.test(LLAMA_RELEASE.nightly));
    for (const [name, sha] of Object.entries(LLAMA_RELEASE.sha256)) assert.match(sha, /^[0-9a-f]{64}$/, `${name}'s pinned digest`);
  });

  test('every VSIX target has one CPU build; asset names are unique and end as the release packs them', () => {
    for (const t of TARGETS) assert.equal(cpuAsset(t).target, t);
    const names = RUNTIME_ASSETS.flatMap((a) => a.assets('b7000'));
    assert.equal(new Set(names).size, names.length);
    for (const a of RUNTIME_ASSETS) {
      const [main] = a.assets('b7000');
      assert.match(main!, a.target.startsWith('win32-') ? /^llama-b7000-bin-win-.+\.zip$/ : /^llama-b7000-bin-(ubuntu|macos)-.+\.tar\.gz$/);
      assert.equal(assetStem(main!), main!.replace(/\.(tar\.gz|zip)$/, ''));
    }
    assert.deepEqual(gpuAssets('darwin-arm64'), [], 'Metal is in the macOS arm64 build itself');
    assert.deepEqual(
      gpuAssets('linux-x64').map((a) => a.id),
      ['vulkan', 'rocm-10.0'],
    );
  });
});

describe('recommendRuntime', () => {
  test('no GPU: the built-in CPU build, said so', () => {
    const r = recommendRuntime('linux-x64', machine([]));
    assert.equal(r.asset, null);
    assert.match(r.reason, /^No GPU found: the built-in CPU build .* runs the model\.$/);
  });

  test('NVIDIA on Windows: the CUDA build the driver can run, Vulkan for an old driver', () => {
    assert.equal(recommendRuntime('win32-x64', machine([nvidia('581.15')])).asset?.id, 'cuda-13.3');
    const r = recommendRuntime('win32-x64', machine([nvidia('551.61')]));
    assert.equal(r.asset?.id, 'cuda-12.4');
    assert.equal(r.reason, "NVIDIA GeForce RTX 4070 (12.0 GB, driver 551.61) seen: the CUDA 12.4 runtime runs the model on it with NVIDIA's own kernels, many times faster than the CPU.");
    assert.equal(recommendRuntime('win32-x64', machine([nvidia('472.12')])).asset?.id, 'vulkan');
    assert.equal(recommendRuntime('win32-x64', machine([nvidia(null)])).asset?.id, 'cuda-12.4', 'driver unknown: the build older drivers run too');
  });

  test('NVIDIA on Linux: Vulkan (the release has no Linux CUDA build), with the loader named when missing', () => {
    const r = recommendRuntime('linux-x64', machine([nvidia('550.54.14')]));
    assert.equal(r.asset?.id, 'vulkan');
    assert.match(recommendRuntime('linux-x64', machine([nvidia('550.54.14')], false)).reason, /install the Vulkan loader, libvulkan1, first/);
  });

  test('AMD: Vulkan, ROCm mentioned; Intel integrated: nothing pressed on, Vulkan listed', () => {
    const amd = recommendRuntime('linux-x64', machine([{ vendor: 'amd', name: 'AMD GPU (PCI 1002:73bf)', memoryBytes: 16 * GiB, driver: null }]));
    assert.equal(amd.asset?.id, 'vulkan');
    assert.match(amd.reason, /ROCm is listed too/);
    const intel = recommendRuntime('linux-x64', machine([{ vendor: 'intel', name: 'Intel GPU (PCI 8086:a7a0)', memoryBytes: null, driver: null }]));
    assert.equal(intel.asset, null);
    assert.match(intel.reason, /integrated GPU is seldom faster .*Vulkan runtime is listed to try/);
  });

  test('the best GPU is the one reasoned about: NVIDIA over an integrated Intel one', () => {
    const r = recommendRuntime('linux-x64', machine([{ vendor: 'intel', name: 'Intel GPU', memoryBytes: null, driver: null }, nvidia('550.54')]));
    assert.equal(r.gpu?.vendor, 'nvidia');
  });

  test('Apple silicon: Metal is built in; macOS Intel: no GPU build published', () => {
    assert.match(recommendRuntime('darwin-arm64', machine([{ vendor: 'apple', name: 'Apple silicon GPU', memoryBytes: 16 * GiB, driver: null }])).reason, /Metal; there is nothing to download/);
    const intelMac = recommendRuntime('darwin-x64', machine([{ vendor: 'amd', name: 'AMD Radeon Pro 5500M', memoryBytes: 4 * GiB, driver: null }]));
    assert.equal(intelMac.asset, null);
    assert.match(intelMac.reason, /publishes no GPU build for darwin-x64/);
  });

  test('any machine: one sentence, and an asset only of this target', () => {
    const gpu = fc.record({
      vendor: fc.constantFrom('nvidia', 'amd', 'intel', 'apple', 'other'),
      name: fc.string({ minLength: 1, maxLength: 40 }),
      memoryBytes: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: null }),
      driver: fc.option(fc.stringMatching(/^\d{2,3}(\.\d{1,3}){0,2}$/), { nil: null }),
    }) as fc.Arbitrary<GpuSeen>;
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), fc.array(gpu, { maxLength: 4 }), fc.option(fc.boolean(), { nil: null }), (target, gpus, vulkanLoader) => {
        const r = recommendRuntime(target, { gpus, vulkanLoader });
        assert.ok(r.reason.length > 10 && r.reason.endsWith('.'), r.reason);
        if (r.asset) assert.ok(r.asset.target === target && r.asset.gpu);
      }),
    );
  });
});

describe('GPU probes', () => {
  test('nvidia-smi CSV, /proc/driver/nvidia/version and Win32_VideoController lines', () => {
    assert.deepEqual(parseNvidiaSmi('NVIDIA GeForce RTX 4070, 12282, 551.61\nNVIDIA RTX A2000, 6138, 551.61\n'), [
      { vendor: 'nvidia', name: 'NVIDIA GeForce RTX 4070', memoryBytes: 12282 * 2 ** 20, driver: '551.61' },
      { vendor: 'nvidia', name: 'NVIDIA RTX A2000', memoryBytes: 6138 * 2 ** 20, driver: '551.61' },
    ]);
    assert.deepEqual(parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'), []);
    assert.equal(parseNvidiaProcVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\nGCC version:  gcc version 12.2.0'), '550.54.14');
    const win = parseVideoControllers(
      'NVIDIA GeForce RTX 3060|4293918720|31.0.15.5161|PCI\\VEN_10DE&DEV_2504&SUBSYS_397D1462&REV_A1\\4&1\r\nIntel(R) UHD Graphics 770|2147483648|31.0.101.4502|PCI\\VEN_8086&DEV_4680&SUBSYS_7D981462\r\n',
    );
    assert.deepEqual(win, [
      { vendor: 'nvidia', name: 'NVIDIA GeForce RTX 3060', memoryBytes: null, driver: '551.61' },
      { vendor: 'intel', name: 'Intel(R) UHD Graphics 770', memoryBytes: 2147483648, driver: '31.0.101.4502' },
    ]);
  });

  test('the parsers never throw on hostile output', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        parseNvidiaSmi(s);
        parseNvidiaProcVersion(s);
        parseVideoControllers(s);
        parseVersion(s);
        parseDevices(s);
      }),
      { numRuns: 500 },
    );
  });

  const sys = mkdtempSync(join(tmpdir(), 'lens-sysfs-'));
  after(() => rmSync(sys, { recursive: true, force: true }));
  /** Linux's /sys and /proc as files under a folder: a stand-in, as this machine has no GPU to show. */
  function probesOver(files: Record<string, string>, smi: string | null): Probes {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(sys, p, '..'), { recursive: true });
      writeFileSync(join(sys, p), text);
    }
    return {
      platform: 'linux',
      arch: 'x64',
      run: async (cmd) => (cmd === 'nvidia-smi' ? smi : null),
      readText: (p) => systemProbes.readText(join(sys, p)),
      list: (d) => systemProbes.list(join(sys, d)),
      exists: (p) => systemProbes.exists(join(sys, p)),
    };
  }

  test('Linux: an AMD card from sysfs (with its VRAM), an NVIDIA one from nvidia-smi counted once, the Vulkan loader seen', async () => {
    const p = probesOver(
      {
        'sys/class/drm/card0/device/vendor': '0x1002\n',
        'sys/class/drm/card0/device/device': '0x73bf\n',
        'sys/class/drm/card0/device/mem_info_vram_total': `${16 * GiB}\n`,
        'sys/class/drm/card0-DP-1/status': 'connected\n',
        'sys/class/drm/card1/device/vendor': '0x10de\n',
        'sys/class/drm/card1/device/device': '0x2786\n',
        'usr/lib/x86_64-linux-gnu/libvulkan.so.1': '',
      },
      'NVIDIA GeForce RTX 4070, 12282, 550.54.14\n',
    );
    const m = await probeGpus(p);
    assert.deepEqual(m.gpus.map((g) => [g.vendor, g.name, g.memoryBytes]), [
      ['nvidia', 'NVIDIA GeForce RTX 4070', 12282 * 2 ** 20],
      ['amd', 'AMD GPU (PCI 1002:73bf)', 16 * GiB],
    ]);
    assert.equal(m.vulkanLoader, true);
  });

  test('this machine: the real probes answer, bounded in time, without throwing', async () => {
    const t0 = Date.now();
    const m = await probeGpus();
    assert.ok(Array.isArray(m.gpus));
    assert.ok(Date.now() - t0 < 15_000, `probes took ${Date.now() - t0} ms`);
  });
});

describe("llama-server's own answers", () => {
  test('--version and --list-devices as llama-server prints them', () => {
    assert.equal(parseVersion('load_backend: loaded CPU backend from ./libggml-cpu-haswell.so\nversion: 0.4.0-dev (build 1, commit 80fb11a)\nbuilt with GNU 12.2.0 for Linux x86_64\n'), 'version: 0.4.0-dev (build 1, commit 80fb11a)');
    assert.equal(parseVersion('error while loading shared libraries: libllama.so.0'), null);
    assert.deepEqual(parseDevices('Available devices:\n  (none)\n'), []);
    assert.deepEqual(parseDevices('ggml_vulkan: Found 1 Vulkan devices:\nAvailable devices:\n  Vulkan0: NVIDIA GeForce RTX 4070 (12282 MiB, 11536 MiB free)\n  CUDA0: NVIDIA GeForce RTX 4070 (12281 MiB, 11200 MiB free)\n'), [
      'Vulkan0: NVIDIA GeForce RTX 4070 (12282 MiB, 11536 MiB free)',
      'CUDA0: NVIDIA GeForce RTX 4070 (12281 MiB, 11200 MiB free)',
    ]);
  });
});
