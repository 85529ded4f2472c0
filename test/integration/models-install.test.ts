// Installing a catalogue build (both files, space checked first, pre-flight checked after) from a
// real HTTP server on 127.0.0.1, and finding models other tools left on disk.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CatalogueEntry, ModelFamily } from '../../src/models/catalogue';
import { DownloadError } from '../../src/models/download';
import { findModelsOnDisk, modelSearchRoots } from '../../src/models/discover';
import { installModel, installState } from '../../src/models/install';
import { EngineError } from '../../src/engine/errors';
import { ensureFixtures, type TinyFixture } from '../fixtures/generate';
import { cdnPath, type ModelsServer, startModelsServer } from './modelsServer';

let server: ModelsServer;
let fixture: TinyFixture;
let model: Buffer;
let mmproj: Buffer;
let dir: string;
const knobs = { connections: 2, minSegmentBytes: 16 * 1024, retryDelayMs: 5, progressIntervalMs: 10 };

/** A catalogue entry for the tiny generated model, as the real catalogue describes the unsloth files. */
function tinyEntry(repo: string): CatalogueEntry {
  const family: ModelFamily = {
    name: 'InternVL3-Tiny',
    repo,
    layers: 2,
    kvHeads: 2,
    headDim: 16,
    llmParams: 1e6,
    mmproj: [{ file: 'mmproj-F16.gguf', bytes: mmproj.length, exactSize: true, precision: 'F16' }],
    defaultMmproj: 'mmproj-F16.gguf',
  };
  return { id: 'InternVL3-Tiny:Q4_K_M', family, quant: 'Q4_K_M', file: 'InternVL3-Tiny-Q4_K_M.gguf', bytes: model.length, exactSize: true };
}

before(async () => {
  fixture = (await ensureFixtures()).grounding;
  model = await readFile(fixture.modelPath);
  mmproj = await readFile(fixture.mmprojPath);
  server = await startModelsServer();
  server.files.set('/test/Tiny-GGUF/resolve/main/InternVL3-Tiny-Q4_K_M.gguf', { body: model });
  server.files.set('/test/Tiny-GGUF/resolve/main/mmproj-F16.gguf', { body: mmproj });
  dir = await mkdtemp(join(tmpdir(), 'lens-install-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('installModel', () => {
  test('downloads the model and its mmproj into the models folder, and they pass the pre-flight checks', async () => {
    const entry = tinyEntry('test/Tiny-GGUF');
    const directory = join(dir, 'models');
    const seen: Array<{ file: string; overallReceived: number; overallTotal: number }> = [];
    assert.deepEqual(await installState(entry, directory), { missingBytes: model.length + mmproj.length, totalBytes: model.length + mmproj.length });
    const installed = await installModel({ entry, directory, baseUrl: server.baseUrl, download: knobs, onProgress: (p) => seen.push(p) });
    assert.equal(installed.modelPath, join(directory, 'Tiny-GGUF', 'InternVL3-Tiny-Q4_K_M.gguf'));
    assert.equal(installed.mmprojPath, join(directory, 'Tiny-GGUF', 'mmproj-F16.gguf'));
    assert.deepEqual(await readFile(installed.modelPath), model);
    assert.deepEqual(await readFile(installed.mmprojPath), mmproj);
    assert.equal(installed.fetchedBytes, model.length + mmproj.length);
    assert.deepEqual([...new Set(seen.map((s) => s.file))], ['InternVL3-Tiny-Q4_K_M.gguf', 'mmproj-F16.gguf']);
    assert.equal(seen.at(-1)!.overallReceived, model.length + mmproj.length);
    assert.equal((await installState(entry, directory)).missingBytes, 0);

    server.log.length = 0;
    const again = await installModel({ entry, directory, baseUrl: server.baseUrl, download: knobs });
    assert.equal(again.fetchedBytes, 0, 'files already there are not fetched again');
    assert.ok(server.log.every((r) => r.range === 'bytes=0-0' || r.status === 302));
  });

  test('both files must fit on the disk before either is fetched', async () => {
    const entry = tinyEntry('test/Tiny-GGUF');
    server.log.length = 0;
    // Room for the model but not for both (ensureFreeSpace keeps a 64 MiB margin).
    const statfs = async () => ({ bavail: Math.floor((64 * 2 ** 20 + model.length + 1000) / 4096), bsize: 4096 });
    await assert.rejects(installModel({ entry, directory: join(dir, 'full'), baseUrl: server.baseUrl, download: knobs, statfs }), (err: unknown) => {
      assert.ok(err instanceof DownloadError && err.code === 'no-space', String(err));
      assert.match(err.message, /Not enough disk space/);
      return true;
    });
    assert.equal(server.log.length, 0, 'nothing was requested');
  });

  test('a wrong file (the projector published as the model) is stopped by the pre-flight checks', async () => {
    server.files.set('/test/Wrong-GGUF/resolve/main/InternVL3-Tiny-Q4_K_M.gguf', { body: mmproj });
    server.files.set('/test/Wrong-GGUF/resolve/main/mmproj-F16.gguf', { body: mmproj });
    const entry = { ...tinyEntry('test/Wrong-GGUF'), bytes: mmproj.length };
    await assert.rejects(installModel({ entry, directory: join(dir, 'wrong'), baseUrl: server.baseUrl, download: knobs }), (err: unknown) => {
      assert.ok(err instanceof EngineError, String(err));
      assert.match(err.message, /is a vision projector \(mmproj\), not the language model/);
      return true;
    });
  });

  test('404 for the projector: the model stays for the next try, the error names the file', async () => {
    server.files.set('/test/Half-GGUF/resolve/main/InternVL3-Tiny-Q4_K_M.gguf', { body: model });
    const entry = tinyEntry('test/Half-GGUF');
    await assert.rejects(installModel({ entry, directory: join(dir, 'half'), baseUrl: server.baseUrl, download: knobs }), (err: unknown) => {
      assert.ok(err instanceof DownloadError && err.code === 'not-found', String(err));
      assert.match(err.message, /Half-GGUF\/resolve\/main\/mmproj-F16\.gguf was not found/);
      return true;
    });
    assert.equal((await installState(entry, join(dir, 'half'))).missingBytes, mmproj.length);
    assert.ok(server.bytesSent('/test/Half-GGUF/resolve/main/InternVL3-Tiny-Q4_K_M.gguf') > 0);
    assert.equal(server.log.filter((r) => r.path === cdnPath('/test/Half-GGUF/resolve/main/mmproj-F16.gguf')).length, 0);
  });
});

describe('findModelsOnDisk', () => {
  test('finds models in the Hugging Face cache, LM Studio and llama.cpp cache, each paired with its mmproj', async () => {
    const home = join(dir, 'home');
    // Hugging Face cache: snapshots link to blobs; an unfinished blob leaves a dangling link.
    const repo = join(home, '.cache/huggingface/hub/models--unsloth--InternVL3-14B-Instruct-GGUF');
    await mkdir(join(repo, 'blobs'), { recursive: true });
    await mkdir(join(repo, 'snapshots/abc123'), { recursive: true });
    await copyFile(fixture.modelPath, join(repo, 'blobs/1111'));
    await copyFile(fixture.mmprojPath, join(repo, 'blobs/2222'));
    await symlink('../../blobs/1111', join(repo, 'snapshots/abc123/InternVL3-14B-Instruct-Q4_K_M.gguf'));
    await symlink('../../blobs/2222', join(repo, 'snapshots/abc123/mmproj-F16.gguf'));
    await symlink('../../blobs/3333.incomplete', join(repo, 'snapshots/abc123/InternVL3-14B-Instruct-Q6_K.gguf'));
    // LM Studio: a model without its projector (text only), and a file that only says .gguf.
    const lms = join(home, '.lmstudio/models/someone/Text-GGUF');
    await mkdir(lms, { recursive: true });
    await copyFile(fixture.modelPath, join(lms, 'text-only.gguf'));
    await writeFile(join(lms, 'broken.gguf'), 'not a gguf at all');
    // llama.cpp's -hf cache: flat files; an mmproj alone is not offered as a model.
    const llama = join(home, '.cache/llama.cpp');
    await mkdir(llama, { recursive: true });
    await copyFile(fixture.mmprojPath, join(llama, 'ggml-org_InternVL3-2B-Instruct-GGUF_mmproj-InternVL3-2B-Instruct-f16.gguf'));
    await copyFile(fixture.modelPath, join(llama, 'ggml-org_InternVL3-2B-Instruct-GGUF_InternVL3-2B-Instruct-Q4_K_M.gguf'));
    await copyFile(fixture.modelPath, join(llama, 'model-00002-of-00003.gguf'));

    const found = await findModelsOnDisk(modelSearchRoots({}, home, 'linux'));
    const summary = found.map((f) => [f.source, f.modelPath.slice(home.length), f.mmprojPath?.slice(home.length) ?? null]);
    assert.deepEqual(summary, [
      ['Hugging Face cache', '/.cache/huggingface/hub/models--unsloth--InternVL3-14B-Instruct-GGUF/snapshots/abc123/InternVL3-14B-Instruct-Q4_K_M.gguf', '/.cache/huggingface/hub/models--unsloth--InternVL3-14B-Instruct-GGUF/snapshots/abc123/mmproj-F16.gguf'],
      ['llama.cpp cache', '/.cache/llama.cpp/ggml-org_InternVL3-2B-Instruct-GGUF_InternVL3-2B-Instruct-Q4_K_M.gguf', '/.cache/llama.cpp/ggml-org_InternVL3-2B-Instruct-GGUF_mmproj-InternVL3-2B-Instruct-f16.gguf'],
      ['LM Studio', '/.lmstudio/models/someone/Text-GGUF/text-only.gguf', null],
    ].sort((a, b) => (a[2] === null ? 1 : 0) - (b[2] === null ? 1 : 0)));
    assert.ok(found.every((f) => f.bytes === model.length));
  });
});
