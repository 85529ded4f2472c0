// The model catalogue and the hardware recommendation (pure functions, no I/O).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CATALOGUE, DEFAULT_ENTRY_ID, defaultEntry, downloadBaseUrl, FAMILIES, fileUrl, kvCacheBytes, mmprojFor, sizeTolerance, unreachableAdvice } from '../../src/models/catalogue';
import { cpuScreenshotSeconds, type HardwareProfile, recommendModel } from '../../src/models/recommend';
import { modelSearchRoots } from '../../src/models/discover';
import { profileFromGpus } from '../../src/models/hardware';
import { formatBytes, formatDuration } from '../../src/models/units';

const GB = 2 ** 30;

describe('catalogue', () => {
  test('every entry has a quantization, a size, a GGUF file name and an mmproj of its own family', () => {
    assert.ok(CATALOGUE.length >= 27);
    for (const e of CATALOGUE) {
      assert.match(e.quant, /^(UD-)?(I?Q\d\w*|BF16|F16)$/, e.id);
      assert.ok(e.bytes > 500_000_000, `${e.id} has a size`);
      assert.ok(e.file.endsWith('.gguf') && e.file.includes(e.quant), `${e.id}: ${e.file}`);
      assert.ok(!/mmproj/i.test(e.file));
      const mmproj = mmprojFor(e);
      assert.ok(mmproj, `${e.id} has its default mmproj`);
      assert.match(mmproj.file, /^mmproj-.*\.gguf$/);
      assert.ok(mmproj.bytes > 300_000_000 && mmproj.bytes < 2 * GB);
      assert.ok(e.family.mmproj.includes(mmproj));
      assert.equal(e.id, `${e.family.name}:${e.quant}`);
    }
    assert.equal(new Set(CATALOGUE.map((e) => e.id)).size, CATALOGUE.length, 'ids are unique');
  });

  test('every unsloth InternVL3-14B quantization of the model card, with its size', () => {
    // The model card's table (unsloth/InternVL3-14B-Instruct-GGUF), as published.
    const table = `
| InternVL3-14B-Instruct-BF16.gguf | GGUF | BF16 | 27.51 GB |
| InternVL3-14B-Instruct-IQ4_NL.gguf | GGUF | IQ4_NL | 7.96 GB |
| InternVL3-14B-Instruct-IQ4_XS.gguf | GGUF | IQ4_XS | 7.58 GB |
| InternVL3-14B-Instruct-Q2_K.gguf | GGUF | Q2_K | 5.37 GB |
| InternVL3-14B-Instruct-Q2_K_L.gguf | GGUF | Q2_K_L | 5.54 GB |
| InternVL3-14B-Instruct-Q3_K_M.gguf | GGUF | Q3_K_M | 6.83 GB |
| InternVL3-14B-Instruct-Q3_K_S.gguf | GGUF | Q3_K_S | 6.20 GB |
| InternVL3-14B-Instruct-Q4_1.gguf | GGUF | (Q4_1) | 8.74 GB |
| InternVL3-14B-Instruct-Q4_K_M.gguf | GGUF | Q4_K_M | 8.37 GB |
| InternVL3-14B-Instruct-Q4_K_S.gguf | GGUF | Q4_K_S | 7.98 GB |
| InternVL3-14B-Instruct-Q5_K_M.gguf | GGUF | Q5_K_M | 9.78 GB |
| InternVL3-14B-Instruct-Q5_K_S.gguf | GGUF | Q5_K_S | 9.56 GB |
| InternVL3-14B-Instruct-Q6_K.gguf | GGUF | Q6_K | 11.29 GB |
| InternVL3-14B-Instruct-UD-IQ1_M.gguf | GGUF | IQ1_M | 3.76 GB |
| InternVL3-14B-Instruct-UD-IQ1_S.gguf | GGUF | IQ1_S | 3.55 GB |
| InternVL3-14B-Instruct-UD-IQ2_M.gguf | GGUF | IQ2_M | 5.05 GB |
| InternVL3-14B-Instruct-UD-IQ2_XXS.gguf | GGUF | IQ2_XXS | 4.15 GB |
| InternVL3-14B-Instruct-UD-IQ3_XXS.gguf | GGUF | IQ3_XXS | 5.59 GB |
| InternVL3-14B-Instruct-UD-Q2_K_XL.gguf | GGUF | Q2_K_XL | 5.64 GB |
| InternVL3-14B-Instruct-UD-Q3_K_XL.gguf | GGUF | Q3_K_XL | 7.07 GB |
| InternVL3-14B-Instruct-UD-Q4_K_XL.gguf | GGUF | Q4_K_XL | 8.48 GB |
| InternVL3-14B-Instruct-UD-Q5_K_XL.gguf | GGUF | Q5_K_XL | 9.80 GB |
| InternVL3-14B-Instruct-UD-Q6_K_XL.gguf | GGUF | Q6_K_XL | 12.36 GB |
| InternVL3-14B-Instruct-UD-Q8_K_XL.gguf | GGUF | Q8_K_XL | 17.26 GB |
`;
    const rows = [...table.matchAll(/^\| (InternVL3-14B-Instruct-[\w-]+\.gguf) \| GGUF \| [^|]+ \| ([\d.]+) GB \|$/gm)];
    assert.equal(rows.length, 24);
    for (const [, file, gb] of rows) {
      const entry = CATALOGUE.find((e) => e.file === file);
      assert.ok(entry, `${file} is in the catalogue`);
      assert.ok(Math.abs(entry.bytes - Number(gb) * GB) <= sizeTolerance(entry), file);
    }
    assert.deepEqual(FAMILIES[0]!.mmproj.map((m) => [m.file, (m.bytes / 2 ** 20).toFixed(0)]), [
      ['mmproj-F16.gguf', '673'],
      ['mmproj-BF16.gguf', '673'],
      ['mmproj-F32.gguf', '1341'],
    ]);
  });

  test('the default is InternVL3-14B Q4_K_M with mmproj F16, from unsloth on huggingface.co', () => {
    const e = defaultEntry();
    assert.equal(e.id, DEFAULT_ENTRY_ID);
    assert.equal(e.file, 'InternVL3-14B-Instruct-Q4_K_M.gguf');
    assert.equal(mmprojFor(e)!.file, 'mmproj-F16.gguf');
    assert.equal(fileUrl(e.family, e.file), 'https://huggingface.co/unsloth/InternVL3-14B-Instruct-GGUF/resolve/main/InternVL3-14B-Instruct-Q4_K_M.gguf');
    for (const f of CATALOGUE) assert.match(fileUrl(f.family, f.file), /^https:\/\/huggingface\.co\/(unsloth|ggml-org)\/InternVL3-\d+B-Instruct-GGUF\/resolve\/main\//);
  });

  test('the base URL is huggingface.co unless HF_ENDPOINT names a mirror; tests pass their own', () => {
    assert.equal(downloadBaseUrl({}), 'https://huggingface.co');
    assert.equal(downloadBaseUrl({ HF_ENDPOINT: 'https://hf-mirror.example' }), 'https://hf-mirror.example');
    assert.equal(downloadBaseUrl({ HF_ENDPOINT: 'not a url' }), 'https://huggingface.co');
    assert.equal(fileUrl(FAMILIES[0]!, 'a b.gguf', 'http://127.0.0.1:9/'), 'http://127.0.0.1:9/unsloth/InternVL3-14B-Instruct-GGUF/resolve/main/a%20b.gguf');
  });

  test('when the host cannot be reached, the advice names HF_ENDPOINT and Use Existing Model Files…', () => {
    const plain = unreachableAdvice({});
    assert.match(plain, /set HF_ENDPOINT to a Hugging Face mirror/);
    assert.match(plain, /Use Existing Model Files…/);
    const mirrored = unreachableAdvice({ HF_ENDPOINT: 'https://hf-mirror.example' });
    assert.match(mirrored, /HF_ENDPOINT \(https:\/\/hf-mirror\.example\)/);
    assert.match(mirrored, /Use Existing Model Files…/);
  });

  test('KV cache: Qwen2.5-14B takes 192 KiB a token in f16', () => {
    assert.equal(kvCacheBytes(FAMILIES[0]!, 1), 192 * 1024);
    assert.equal(kvCacheBytes(FAMILIES[0]!, 8192), 1.5 * GB);
  });
});

describe('recommendModel', () => {
  const gpu = (name: string, gb: number) => ({ name, memoryBytes: gb * GB });
  const profiles: Array<{ name: string; hw: HardwareProfile; context?: number; id: string; where: 'gpu' | 'cpu' | 'none' }> = [
    { name: 'H100 80 GB', hw: { gpus: [gpu('NVIDIA H100 80GB HBM3', 80)], systemMemoryBytes: 256 * GB }, id: 'InternVL3-14B:Q6_K', where: 'gpu' },
    { name: 'RTX 4090 24 GB', hw: { gpus: [gpu('NVIDIA GeForce RTX 4090', 24)], systemMemoryBytes: 64 * GB }, id: 'InternVL3-14B:Q6_K', where: 'gpu' },
    { name: 'RTX 4080 16 GB', hw: { gpus: [gpu('NVIDIA GeForce RTX 4080', 16)], systemMemoryBytes: 32 * GB }, id: 'InternVL3-14B:Q5_K_M', where: 'gpu' },
    { name: 'RTX 4080 16 GB, 32k context', hw: { gpus: [gpu('NVIDIA GeForce RTX 4080', 16)], systemMemoryBytes: 32 * GB }, context: 32768, id: 'InternVL3-14B:UD-IQ3_XXS', where: 'gpu' },
    { name: 'RTX 3060 12 GB', hw: { gpus: [gpu('NVIDIA GeForce RTX 3060', 12)], systemMemoryBytes: 32 * GB }, id: 'InternVL3-14B:Q3_K_M', where: 'gpu' },
    { name: 'RTX 3070 8 GB', hw: { gpus: [gpu('NVIDIA GeForce RTX 3070', 8)], systemMemoryBytes: 16 * GB }, id: 'InternVL3-8B:Q4_K_M', where: 'gpu' },
    { name: 'GTX 1660 6 GB', hw: { gpus: [gpu('NVIDIA GeForce GTX 1660', 6)], systemMemoryBytes: 16 * GB }, id: 'InternVL3-2B:Q8_0', where: 'gpu' },
    { name: 'two GPUs: the larger one counts', hw: { gpus: [gpu('small', 4), gpu('NVIDIA RTX A6000', 48)], systemMemoryBytes: 128 * GB }, id: 'InternVL3-14B:Q6_K', where: 'gpu' },
    { name: 'Apple M3 Max (Metal, 36 GB unified)', hw: { gpus: [gpu('Apple M3 Max', 27)], systemMemoryBytes: 36 * GB }, id: 'InternVL3-14B:Q6_K', where: 'gpu' },
    { name: 'GPU too small, lots of RAM: CPU', hw: { gpus: [gpu('Intel UHD', 2)], systemMemoryBytes: 64 * GB, cpuCores: 32 }, id: 'InternVL3-14B:Q4_K_M', where: 'cpu' },
    { name: 'CPU only, 32 GB', hw: { gpus: [], systemMemoryBytes: 32 * GB, cpuCores: 32 }, id: 'InternVL3-14B:Q4_K_M', where: 'cpu' },
    { name: 'CPU only, 16 GB', hw: { gpus: [], systemMemoryBytes: 16 * GB, cpuCores: 32 }, id: 'InternVL3-14B:Q4_K_M', where: 'cpu' },
    { name: 'CPU only, 12 GB', hw: { gpus: [], systemMemoryBytes: 12 * GB, cpuCores: 32 }, id: 'InternVL3-8B:Q4_K_M', where: 'cpu' },
    { name: 'CPU only, 8 GB', hw: { gpus: [], systemMemoryBytes: 8 * GB, cpuCores: 32 }, id: 'InternVL3-2B:Q8_0', where: 'cpu' },
    // On the CPU, cores decide as well as RAM: the largest size that starts answering a screenshot within 2 minutes.
    { name: 'CPU only, 16 cores, 64 GB: 8B, not 14B', hw: { gpus: [], systemMemoryBytes: 64 * GB, cpuCores: 16 }, id: 'InternVL3-8B:Q4_K_M', where: 'cpu' },
    { name: 'CPU only, 8 cores, 32 GB: 2B', hw: { gpus: [], systemMemoryBytes: 32 * GB, cpuCores: 8 }, id: 'InternVL3-2B:Q8_0', where: 'cpu' },
    { name: 'CPU only, 2 cores, 24 GB: 2B, and it says it is slow', hw: { gpus: [], systemMemoryBytes: 24 * GB, cpuCores: 2 }, id: 'InternVL3-2B:Q8_0', where: 'cpu' },
    { name: 'CPU only, 4 GB: nothing fits', hw: { gpus: [], systemMemoryBytes: 4 * GB, cpuCores: 32 }, id: 'InternVL3-2B:Q4_K_M', where: 'none' },
  ];
  for (const p of profiles) {
    test(p.name, () => {
      const r = recommendModel(p.hw, p.context ?? 8192);
      assert.equal(r.entry.id, p.id, r.reason);
      assert.equal(r.where, p.where);
      assert.equal(r.reason.split('\n').length, 1, 'one line');
      assert.ok(r.reason.includes(`${r.entry.family.name} ${r.entry.quant}`), r.reason);
      if (p.where === 'gpu') {
        assert.match(r.reason, /runs entirely on the GPU/);
        assert.ok(r.neededBytes <= Math.max(...p.hw.gpus.map((g) => g.memoryBytes)));
      }
      if (p.where === 'cpu') assert.match(r.reason, /runs on the CPU/);
      if (p.where === 'none') assert.match(r.reason, /internvlLens\.contextSize/);
    });
  }
  test('on a slow CPU the reason gives the time, the larger size it skipped and what is faster', () => {
    const r = recommendModel({ gpus: [], systemMemoryBytes: 24 * GB, cpuCores: 2 }, 8192);
    assert.match(r.reason, /2 CPU cores/);
    assert.match(r.reason, /about [3-5] min to start answering about a full-screen screenshot/);
    assert.match(r.reason, /InternVL3-14B would fit but take about \d+ min/);
    assert.match(r.reason, /a GPU, or a server/);
    const fast = recommendModel({ gpus: [], systemMemoryBytes: 64 * GB, cpuCores: 32 }, 8192);
    assert.doesNotMatch(fast.reason, /slow on this CPU|would fit but/, fast.reason);
    assert.ok(cpuScreenshotSeconds(r.entry, 2) > cpuScreenshotSeconds(r.entry, 8), 'more cores, less time');
  });
  test('the need grows with the context: KV cache is counted', () => {
    const hw = { gpus: [gpu('x', 24)], systemMemoryBytes: 64 * GB };
    const small = recommendModel(hw, 4096);
    const large = recommendModel(hw, 65536);
    assert.ok(large.entry.bytes < small.entry.bytes, `${large.entry.id} < ${small.entry.id}`);
  });
});

describe('units', () => {
  test('formatBytes and formatDuration', () => {
    assert.equal(formatBytes(8_985_340_608), '8.4 GB');
    assert.equal(formatBytes(705_336_640), '673 MB');
    assert.equal(formatBytes(512), '512 bytes');
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(185), '3 min');
    assert.equal(formatDuration(4800), '1 h 20 min');
    assert.equal(formatDuration(Infinity), '—');
  });
});

describe('where models are looked for', () => {
  test('Linux defaults, then the environment variables the tools themselves honour', () => {
    assert.deepEqual(modelSearchRoots({}, '/home/u', 'linux', '/data/models'), [
      { dir: '/data/models', source: 'Models folder' },
      { dir: '/home/u/.cache/huggingface/hub', source: 'Hugging Face cache' },
      { dir: '/home/u/.lmstudio/models', source: 'LM Studio' },
      { dir: '/home/u/.cache/lm-studio/models', source: 'LM Studio' },
      { dir: '/home/u/.cache/llama.cpp', source: 'llama.cpp cache' },
    ]);
    const env = { HF_HUB_CACHE: '/hub', LLAMA_CACHE: '/llama', LMSTUDIO_HOME: '/lms' };
    assert.deepEqual(
      modelSearchRoots(env, '/home/u', 'linux').map((r) => r.dir),
      ['/hub', '/lms/models', '/home/u/.cache/lm-studio/models', '/llama'],
    );
    assert.equal(modelSearchRoots({ HF_HOME: '/hf' }, '/home/u', 'linux')[0]!.dir, '/hf/hub');
    assert.equal(modelSearchRoots({ XDG_CACHE_HOME: '/xdg' }, '/home/u', 'linux')[0]!.dir, '/xdg/huggingface/hub');
  });

  test("macOS and Windows keep llama.cpp's cache elsewhere", () => {
    assert.equal(modelSearchRoots({}, '/Users/u', 'darwin').at(-1)!.dir, '/Users/u/Library/Caches/llama.cpp');
    assert.equal(modelSearchRoots({ LOCALAPPDATA: 'C:/Users/u/AppData/Local' }, 'C:/Users/u', 'win32').at(-1)!.dir, join('C:/Users/u/AppData/Local', 'llama.cpp'));
  });

  test('the models folder inside a cache is looked at once', () => {
    const roots = modelSearchRoots({}, '/home/u', 'linux', '/home/u/.cache/llama.cpp');
    assert.equal(roots.filter((r) => r.dir === '/home/u/.cache/llama.cpp').length, 1);
  });
});

describe("hardware profile from the operating system's GPU probes", () => {
  test('one entry per GPU (the probe reporting most memory); unknown memory counts as none', () => {
    const profile = profileFromGpus(
      [
        { vendor: 'nvidia', name: 'NVIDIA H100', memoryBytes: 80 * GB, driver: '550.54.14' },
        { vendor: 'nvidia', name: 'NVIDIA H100', memoryBytes: 79 * GB, driver: null },
        { vendor: 'intel', name: 'Intel Iris Xe', memoryBytes: null, driver: null },
      ],
      64 * GB,
    );
    assert.deepEqual(profile, {
      gpus: [
        { name: 'NVIDIA H100', memoryBytes: 80 * GB },
        { name: 'Intel Iris Xe', memoryBytes: 0 },
      ],
      systemMemoryBytes: 64 * GB,
    });
  });
});
