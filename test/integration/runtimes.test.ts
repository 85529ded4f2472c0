// Downloaded llama.cpp runtimes against a mirror of GitHub's release API and downloads on
// 127.0.0.1 (releaseMirror.ts), serving archives made from the test build exactly as llama.cpp's
// release workflow makes them (`tar -czf … --transform s,^\.,llama-<tag>, -C build/bin .`; a zip
// for Windows): metadata, resume, digests, hostile archives, a runtime that does not run, the
// unpacked llama-server loading the tiny model; then which llama-server the engine is given
// (setting, downloaded runtime, built-in build, PATH).
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { layoutLlamaServer, packLlamaServer } from '../../scripts/llama-server-layout.mjs';
import { packageTarget } from '../../scripts/package.mjs';
import { pinRelease } from '../../scripts/pin-llama-release.mjs';
import { readVsix } from '../../scripts/vsix-contents.mjs';
import { DownloadError, partialProgress } from '../../src/models/download';
import { unpackArchive } from '../../src/engine/local/runtimes/archive';
import { BUNDLE_BLOB, BUNDLE_MANIFEST } from '../../src/engine/local/runtimes/bundled';
import { checkServer } from '../../src/engine/local/runtimes/check';
import { chooseLlamaServer, findOnPath, hostTarget } from '../../src/engine/local/runtimes/choose';
import { RuntimeError } from '../../src/engine/local/runtimes/errors';
import { installedRuntimes, installRuntime, planRuntime } from '../../src/engine/local/runtimes/install';
import type { ReleaseSource } from '../../src/engine/local/runtimes/metadata';
import { cpuAsset, gpuAssets, LLAMA_RELEASE, type ReleasePin, RUNTIME_ASSETS } from '../../src/engine/local/runtimes/release';
import { tarGz } from '../fixtures/archives';
import { ensureFixtures } from '../fixtures/generate';
import { checkLlamaContents } from '../fixtures/llama-contents';
import { type ReleaseMirror, startReleaseMirror } from './releaseMirror';
import { ROOT } from './support';
import { waitFor } from '../fixtures/wait';

const TAG = 'b1';
const target = hostTarget();
const gpu = gpuAssets(target)[0]!;
const cpu = cpuAsset(target);
/** The real pin with nothing pinned: the nightly tag comes from nightly-tag.txt, digests from the API. */
const pin: ReleasePin = { ...LLAMA_RELEASE, nightly: null, sha256: {} };
const fast = { connections: 3, minSegmentBytes: 256 * 1024, retryDelayMs: 5, progressIntervalMs: 10, saveIntervalMs: 20 };

let mirror: ReleaseMirror;
let source: ReleaseSource;
let bin: string;
let work: string;
let releaseArchive: Buffer;
let n = 0;
const fresh = (what: string) => {
  const d = join(work, `${what}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** The folder holding the test build's llama-server (scripts/build-llama-server.sh, cached in .tools/). */
function testBuild(): string {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'build-llama-server.sh'), '--print-dir'], { cwd: ROOT, encoding: 'utf8' });
  return out.trim().split('\n').at(-1)!;
}

/**
 * `tar -czf` the way release.yml packs build/bin after copying LICENSE into it: every tool,
 * symlinks and all, under llama-<tag>/.
 */
function releaseTarGz(fromBin: string, extra: string[] = []): Buffer {
  const file = join(work, `pack-${n++}.tar.gz`);
  execFileSync('tar', ['-czf', file, `--transform=s,^\\.,llama-${TAG},`, ...extra, '-C', fromBin, '.', '-C', join(fromBin, '..', '..', 'src'), './LICENSE']);
  return readFileSync(file);
}

function publishRelease(assets: Record<string, { body: Buffer; digest?: string | null }>): void {
  mirror.releases.clear();
  mirror.publish(pin.release, 'nightly-tag.txt', { body: Buffer.from(`${TAG}\n`) });
  for (const [name, a] of Object.entries(assets)) mirror.publish(TAG, name, a);
}

async function rejectsWith(p: Promise<unknown>, check: (err: unknown) => boolean): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(check(err), `unexpected error: ${(err as Error).stack}`);
    return err as Error;
  }
  assert.fail('expected a rejection');
}

/** GET over the Unix socket llama-server listens on. */
function getJson(socketPath: string, path: string, apiKey: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers: { authorization: `Bearer ${apiKey}` }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
  });
}

before(async () => {
  bin = testBuild();
  work = mkdtempSync(join(tmpdir(), 'lens-runtimes-'));
  await ensureFixtures();
  mirror = await startReleaseMirror(pin.repo);
  source = { apiBase: mirror.url, downloadBase: mirror.url };
  releaseArchive = releaseTarGz(bin);
});
after(async () => {
  await mirror?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the release mirror, as GitHub serves llama.cpp', () => {
  test('every asset name Lens fetches is one the pinned release workflow publishes', () => {
    const workflow = readFileSync(join(bin, '..', '..', 'src', '.github', 'workflows', 'release.yml'), 'utf8').replaceAll('${{ steps.tag.outputs.name }}', TAG);
    for (const a of RUNTIME_ASSETS) {
      for (const name of a.assets(TAG)) assert.ok(workflow.includes(`/${name})`), `${a.target} ${a.id}: ${name} is linked in release.yml's release notes`);
    }
  });

  test('a plan: the nightly tag from nightly-tag.txt, size and digest from the release API', async () => {
    publishRelease({ [gpu.assets(TAG)[0]!]: { body: releaseArchive } });
    const plan = await planRuntime(gpu, fresh('plan'), { pin, source });
    assert.equal(plan.tag, TAG);
    assert.equal(plan.files.length, 1);
    const [f] = plan.files;
    assert.equal(f!.name, `llama-${TAG}-bin-${target === 'linux-x64' ? 'ubuntu-vulkan-x64' : 'ubuntu-vulkan-arm64'}.tar.gz`);
    assert.equal(f!.bytes, releaseArchive.length);
    assert.equal(f!.digestFrom, 'published');
    assert.match(plan.dir, new RegExp(`runtimes/${pin.release}-llama-${TAG}-bin-`));
    assert.ok(mirror.apiLog.includes(`/repos/${pin.repo}/releases/tags/${pin.release}`) && mirror.apiLog.includes(`/repos/${pin.repo}/releases/tags/${TAG}`));
  });
});

describe('scripts/pin-llama-release.mjs', () => {
  test('pins the nightly tag and every asset Lens may fetch; the pin then refuses a replaced asset', async () => {
    const names = [...new Set(RUNTIME_ASSETS.flatMap((a) => a.assets(TAG)))];
    publishRelease(Object.fromEntries(names.map((name) => [name, { body: name === gpu.assets(TAG)[0] ? releaseArchive : Buffer.from(`asset ${name}`) }])));
    const out = join(fresh('pin'), 'release.json');
    const pinned = await pinRelease(source, { out });
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), pinned);
    assert.equal(pinned.nightly, TAG);
    assert.equal(pinned.release, LLAMA_RELEASE.release);
    assert.deepEqual(Object.keys(pinned.sha256).sort(), names.sort());
    // Pinned: GitHub is not asked for the nightly tag again, and the pin's digest is the one used.
    mirror.apiLog.length = 0;
    const plan = await planRuntime(gpu, fresh('pinned-plan'), { pin: pinned, source });
    assert.equal(plan.files[0]!.digestFrom, 'pinned');
    assert.ok(!mirror.apiLog.includes(`/repos/${pin.repo}/releases/tags/${pin.release}`));
    // The asset replaced on GitHub after pinning (new bytes, new published digest): refused.
    mirror.publish(TAG, gpu.assets(TAG)[0]!, { body: Buffer.concat([releaseArchive, Buffer.from('x')]) });
    await rejectsWith(planRuntime(gpu, fresh('replaced'), { pin: pinned, source }), (e) => e instanceof RuntimeError && e.code === 'untrusted');
  });
});

describe('installRuntime', () => {
  test('downloads, checks the digest, unpacks only what a runtime needs, runs it; it loads the tiny model', async () => {
    publishRelease({ [gpu.assets(TAG)[0]!]: { body: releaseArchive } });
    const storage = fresh('storage');
    const plan = await planRuntime(gpu, storage, { pin, source });
    const progress: number[] = [];
    const installed = await installRuntime(plan, { pin, download: fast, onProgress: (p) => progress.push(p.receivedBytes) });
    assert.ok(progress.length > 0 && Math.max(...progress) === releaseArchive.length, 'progress reached the whole archive');
    assert.equal(installed.manifest.serverVersion, (await checkServer(join(bin, 'llama-server'))).version, 'the runtime is the build it was made from');
    assert.equal(installed.manifest.assets[0]!.digestFrom, 'published');
    const files = readdirSync(installed.dir);
    assert.ok(files.includes('llama-server') && files.includes('runtime.json') && files.includes('LICENSE'));
    assert.ok(!files.includes('llama-bench') && !files.includes('llama-quantize'), `the other tools stay out: ${files.join(', ')}`);
    assert.ok(lstatSync(join(installed.dir, 'libllama.so.0')).isSymbolicLink(), 'version links kept as links');
    assert.deepEqual(readdirSync(join(storage, 'runtimes', 'downloads')), [], 'the archive is removed once the runtime is in place');
    assert.deepEqual((await installedRuntimes(storage, target, pin)).map((r) => r.dir), [installed.dir]);

    // The unpacked runtime really serves the tiny InternVL pair.
    const { modelPath, mmprojPath } = (await ensureFixtures()).sentence;
    const socket = join(fresh('sock'), 'lens.sock');
    const apiKey = 'k'.repeat(32);
    const server = spawn(installed.executable, ['-m', modelPath, '--mmproj', mmprojPath, '-c', '2048', '-t', '2', '--host', socket, '--api-key', apiKey, '--no-webui'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout.on('data', (c: Buffer) => (log += c.toString()));
    server.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      const exited = new Promise<never>((_, reject) => server.once('exit', (code) => reject(new Error(`llama-server exited ${code}: ${log.slice(-800)}`))));
      exited.catch(() => undefined); // observed by the race below; not unhandled once the wait is over
      await Promise.race([
        exited,
        waitFor('llama-server from the runtime to answer /health with 200', async () => (await getJson(socket, '/health', apiKey)).status === 200, { timeoutMs: 60_000, intervalMs: 100 }).catch((err: unknown) => {
          throw new Error(`${err instanceof Error ? err.message : String(err)} (log: ${log.slice(-800)})`);
        }),
      ]);
      const props = await getJson(socket, '/props', apiKey);
      assert.equal(props.status, 200);
      assert.equal((props.body as { modalities?: { vision?: boolean } }).modalities?.vision, true, 'the mmproj loaded: it sees');
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('resumes: cut connections are retried, a cancelled download continues where it stopped', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseArchive } });
    const asset = mirror.releases.get(TAG)!.get(name)!;
    asset.dropAfter = { bytes: 300_000, times: 4 };
    asset.throttle = { chunk: 64 * 1024, pauseMs: 5 };
    const storage = fresh('resume');
    const plan = await planRuntime(gpu, storage, { pin, source });
    const cancel = new AbortController();
    await rejectsWith(
      installRuntime(plan, {
        pin,
        signal: cancel.signal,
        download: { ...fast, connections: 1 },
        onProgress: (p) => {
          if (p.receivedBytes > releaseArchive.length / 3) cancel.abort();
        },
      }),
      (err) => err instanceof DownloadError && err.code === 'cancelled',
    );
    const cut = mirror.requests(TAG, name).filter((r) => r.sent === 300_000).length;
    assert.ok(cut >= 2, `connections were cut mid-file and retried (${cut} cut)`);
    const partial = await partialProgress(join(storage, 'runtimes', 'downloads', name));
    assert.ok(partial && partial.receivedBytes > 300_000, `what was fetched is kept (${partial?.receivedBytes} bytes)`);
    assert.equal(existsSync(plan.dir), false, 'nothing installed yet');
    const mark = mirror.cdn.log.length;
    asset.throttle = undefined;
    asset.dropAfter = undefined;
    let resumedFrom = -1;
    const installed = await installRuntime(plan, { pin, download: fast, onProgress: (p) => (resumedFrom = p.resumedFromBytes) });
    assert.equal(resumedFrom, partial!.receivedBytes, 'the second run started from what the first kept');
    // One connection in the first run: it kept bytes [0, k). The second asks only for bytes past k
    // (besides its one-byte size probe).
    const asked = mirror
      .requests(TAG, name, mark)
      .map((r) => r.range)
      .filter((range) => range !== 'bytes=0-0')
      .map((range) => Number(/^bytes=(\d+)-/.exec(range ?? '')?.[1] ?? -1));
    assert.ok(asked.length > 0 && asked.every((from) => from >= partial!.receivedBytes), `only missing bytes were asked for again (from ${asked.join(', ')}; kept ${partial!.receivedBytes})`);
    assert.match((await checkServer(installed.executable)).version, /^version:/);
  });

  test('an archive that does not match its digest is refused: nothing installed, nothing kept', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseArchive, digest: `sha256:${'0'.repeat(64)}` } });
    const storage = fresh('digest');
    const plan = await planRuntime(gpu, storage, { pin, source });
    const err = await rejectsWith(installRuntime(plan, { pin, download: fast }), (e) => e instanceof DownloadError && e.code === 'checksum-mismatch');
    assert.match(err.message, /corrupt.*deleted, not installed/);
    assert.equal(existsSync(plan.dir), false);
    assert.deepEqual(readdirSync(join(storage, 'runtimes', 'downloads')), [], 'no partial download left to resume from');
    assert.deepEqual(await installedRuntimes(storage, target, pin), []);
  });

  test('a pinned digest that differs from the published one: refused before a byte of the asset is fetched', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseArchive } });
    const sent = mirror.bytesSent(TAG, name);
    const pinned: ReleasePin = { ...pin, sha256: { [name]: 'ab'.repeat(32) } };
    const err = await rejectsWith(planRuntime(gpu, fresh('pinned'), { pin: pinned, source }), (e) => e instanceof RuntimeError && e.code === 'untrusted');
    assert.match(err.message, /replaced after the release/);
    assert.equal(mirror.bytesSent(TAG, name), sent);
  });

  test('no digest published and none pinned: refused, it cannot be checked', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseArchive, digest: null } });
    const err = await rejectsWith(planRuntime(gpu, fresh('nodigest'), { pin, source }), (e) => e instanceof RuntimeError && e.code === 'untrusted');
    assert.match(err.message, /no sha256 digest/);
  });

  test('an asset the release does not carry: a clear error naming it', async () => {
    publishRelease({ 'llama-b1-bin-something-else.zip': { body: Buffer.from('x') } });
    const err = await rejectsWith(planRuntime(gpu, fresh('missing'), { pin, source }), (e) => e instanceof RuntimeError && e.code === 'not-published');
    assert.ok(err.message.includes(gpu.assets(TAG)[0]!));
  });

  test('a zip-slip archive with a valid digest: refused, nothing written outside the storage', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: tarGz([{ name: `llama-${TAG}/llama-server`, body: 'x', mode: 0o755 }, { name: `llama-${TAG}/../../../escaped`, body: 'pwned' }]) } });
    const storage = fresh('slip');
    const plan = await planRuntime(gpu, storage, { pin, source });
    const err = await rejectsWith(installRuntime(plan, { pin, download: fast }), (e) => e instanceof RuntimeError && e.code === 'archive');
    assert.match(err.message, /climbs out of its folder/);
    assert.equal(existsSync(join(storage, 'escaped')) || existsSync(join(storage, '..', 'escaped')) || existsSync(join(storage, 'runtimes', 'escaped')), false);
    assert.equal(existsSync(plan.dir), false);
    assert.deepEqual(readdirSync(join(storage, 'runtimes')).sort(), ['downloads']);
  });

  test('a runtime that does not run here (a library missing) is not kept; its archive stays for a retry', async () => {
    const name = gpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseTarGz(bin, ['--exclude=./libllama.so*']) } });
    const storage = fresh('broken');
    const plan = await planRuntime(gpu, storage, { pin, source });
    const err = await rejectsWith(installRuntime(plan, { pin, download: fast }), (e) => e instanceof RuntimeError && e.code === 'broken');
    assert.match(err.message, /does not run on this machine .*libllama\.so\.0.* It needs/s);
    assert.equal(existsSync(plan.dir), false);
    assert.deepEqual(readdirSync(join(storage, 'runtimes', 'downloads')), [name]);
  });

  test('a Windows-style zip (made with zip -y: links stored as links) unpacks, and its llama-server runs', async () => {
    const file = join(fresh('zip'), 'llama-bin.zip');
    execFileSync('zip', ['-q', '-r', '-y', file, '.'], { cwd: bin });
    const dest = join(work, `zip-out-${n++}`);
    await unpackArchive(file, dest, { keep: (p) => !/llama-(bench|quantize|mtmd-cli)$/.test(p) });
    assert.ok(lstatSync(join(dest, 'libllama.so.0')).isSymbolicLink());
    assert.match((await checkServer(join(dest, 'llama-server'))).version, /^version:/);
  });
});

describe('chooseLlamaServer', () => {
  /** An extension folder whose dist/llama.cpp holds the test build, laid out as the VSIX has it. */
  function extensionWithBuild(): string {
    const ext = fresh('ext');
    layoutLlamaServer(bin, join(ext, 'dist', 'llama.cpp'), target, { executable: 'llama-server' });
    return ext;
  }

  /** An extension folder with the packed build, as a VSIX carries it. */
  function extensionWithPackedBuild(): string {
    const ext = fresh('ext-packed');
    const flat = fresh('flat');
    layoutLlamaServer(bin, flat, target, { executable: 'llama-server', licence: join(bin, '..', '..', 'src', 'LICENSE') });
    packLlamaServer(flat, join(ext, 'dist', 'llama.cpp'), { names: { blob: BUNDLE_BLOB, manifest: BUNDLE_MANIFEST }, executable: 'llama-server', release: pin.release, build: 'test', quality: 1 });
    return ext;
  }

  test('the packed built-in build is unpacked once into the storage, by one window of two starting together, and runs', async () => {
    const ext = extensionWithPackedBuild();
    const storage = fresh('builtin');
    const stale = join(storage, 'runtimes', `${pin.release}-builtin-0123456789abcdef`);
    mkdirSync(stale, { recursive: true });
    const opts = { extensionPath: ext, storagePath: storage, configuredPath: '', pin };
    const [a, b] = await Promise.all([chooseLlamaServer(opts), chooseLlamaServer(opts)]);
    assert.equal(a.source, 'bundled');
    assert.equal(a.executable, b.executable);
    assert.match(a.executable, new RegExp(`runtimes/${pin.release}-builtin-[0-9a-f]{16}/llama-server$`));
    assert.match((await checkServer(a.executable)).version, /^version:/);
    assert.equal(existsSync(stale), false, "an older version's unpacked build is removed");
    assert.deepEqual(readdirSync(join(storage, 'runtimes')).filter((f) => f.includes('.unpacking-')), [], 'no staging folders left');
    const before = lstatSync(a.executable).mtimeMs;
    assert.equal((await chooseLlamaServer(opts)).executable, a.executable);
    assert.equal(lstatSync(a.executable).mtimeMs, before, 'not unpacked again');

    // A damaged packed build is refused with what to do, before anything is unpacked.
    const blob = join(ext, 'dist', 'llama.cpp', BUNDLE_BLOB);
    const bytes = readFileSync(blob);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(blob, bytes);
    const err = await rejectsWith(chooseLlamaServer({ ...opts, storagePath: fresh('builtin2') }), (e) => e instanceof RuntimeError && e.code === 'broken');
    assert.match(err.message, /is damaged .* reinstall InternVL Lens/s);
  });

  test('internvlLens.llamaServerPath wins; a path that is not a file is a clear error', async () => {
    const ext = extensionWithBuild();
    const own = join(bin, 'llama-server');
    const chosen = await chooseLlamaServer({ extensionPath: ext, storagePath: fresh('s'), configuredPath: own });
    assert.deepEqual([chosen.source, chosen.executable], ['setting', own]);
    const err = await rejectsWith(chooseLlamaServer({ extensionPath: ext, storagePath: fresh('s'), configuredPath: '/nowhere/llama-server' }), (e) => e instanceof RuntimeError && e.code === 'not-found');
    assert.match(err.message, /internvlLens\.llamaServerPath points to \/nowhere\/llama-server/);
  });

  test('a working downloaded runtime is used; one that stops working falls back to the built-in build with a notice', async () => {
    publishRelease({ [gpu.assets(TAG)[0]!]: { body: releaseArchive } });
    const storage = fresh('choose');
    const installed = await installRuntime(await planRuntime(gpu, storage, { pin, source }), { pin, download: fast });
    const ext = extensionWithBuild();
    const opts = { extensionPath: ext, storagePath: storage, configuredPath: '', pin, check: (e: string) => checkServer(e) };
    const used = await chooseLlamaServer(opts);
    assert.deepEqual([used.source, used.executable, used.notice], ['downloaded', installed.executable, null]);
    const bundled = await chooseLlamaServer({ ...opts, choice: { kind: 'bundled' } });
    assert.equal(bundled.source, 'bundled');

    unlinkSync(join(installed.dir, 'libllama.so.0.4.0'));
    const fallback = await chooseLlamaServer(opts);
    assert.equal(fallback.source, 'bundled');
    assert.equal(fallback.executable, join(ext, 'dist', 'llama.cpp', 'llama-server'));
    assert.match(fallback.notice ?? '', /Vulkan runtime .* does not run .*Using the built-in CPU build instead\./s);
    assert.match((await checkServer(fallback.executable)).version, /^version:/);
  });

  test('a llama-server on PATH: found past a non-executable one, used when chosen, or when the VSIX has none', async () => {
    const notExecutable = fresh('path-a');
    writeFileSync(join(notExecutable, 'llama-server'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(notExecutable, 'llama-server'), 0o644);
    const real = fresh('path-b');
    layoutLlamaServer(bin, real, target, { executable: 'llama-server' });
    const env = { PATH: `${notExecutable}:/nonexistent:${real}`, HOME: fresh('home') };
    assert.equal(await findOnPath(env, 'linux'), join(real, 'llama-server'));
    assert.match((await checkServer(join(real, 'llama-server'))).version, /^version:/);

    const ext = extensionWithBuild();
    const chosen = await chooseLlamaServer({ extensionPath: ext, storagePath: fresh('s'), configuredPath: '', choice: { kind: 'path' }, env });
    assert.deepEqual([chosen.source, chosen.executable], ['path', join(real, 'llama-server')]);
    const noBundled = await chooseLlamaServer({ extensionPath: fresh('empty-ext'), storagePath: fresh('s'), configuredPath: '', env });
    assert.equal(noBundled.source, 'path');
    const err = await rejectsWith(
      chooseLlamaServer({ extensionPath: fresh('empty-ext'), storagePath: fresh('s'), configuredPath: '', env: { PATH: notExecutable, HOME: fresh('home') } }),
      (e) => e instanceof RuntimeError && e.code === 'not-found',
    );
    assert.match(err.message, /carries no llama-server .* set internvlLens\.llamaServerPath/s);
  });
});

describe('npm run package for a platform it cannot build: the release CPU build', () => {
  test('fetched from the mirror with its digest checked, laid out in the VSIX, runs from it; cached for the next package', async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'extension.js')), 'dist/ is built (node scripts/build.mjs)');
    const name = cpu.assets(TAG)[0]!;
    publishRelease({ [name]: { body: releaseArchive } });
    const cacheDir = fresh('package-cache');
    const out = join(fresh('vsix'), 'release.vsix');
    const r = await packageTarget(target, { out, llamaCpp: 'release', releaseSource: source, cacheDir });
    assert.equal(r.llamaCpp?.build, 'release');
    const contents = await checkLlamaContents(readVsix(out), target, { run: true });
    assert.match(contents.version ?? '', /^version:/);
    const sent = mirror.bytesSent(TAG, name);
    assert.equal(sent, releaseArchive.length + 1, 'downloaded once (and the 1-byte size probe)');
    await packageTarget(target, { out, llamaCpp: 'release', releaseSource: source, cacheDir });
    assert.equal(mirror.bytesSent(TAG, name), sent, 'the second package used the cache');
  });
});
