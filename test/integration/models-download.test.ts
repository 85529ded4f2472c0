// The model downloader against a real HTTP server on 127.0.0.1 serving the generated tiny GGUF
// files: ranges over several connections, resume after a kill, dropped connections, 404, corrupt
// content, a full disk (through the statfs seam: a real full file system needs root to mount).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { downloadFile, DownloadError, type DownloadProgress, partialPaths, partialProgress } from '../../src/models/download';
import { ensureFixtures } from '../fixtures/generate';
import { cdnPath, type ModelsServer, sha256, startModelsServer } from './modelsServer';
import { ROOT } from './support';
import { waitFor } from '../fixtures/wait';

const MODEL = '/test/Tiny-GGUF/resolve/main/model.gguf';
let server: ModelsServer;
let body: Buffer;
let dir: string;
let n = 0;
const fresh = () => join(dir, `case-${n++}`, 'model.gguf');
const fast = { connections: 4, minSegmentBytes: 16 * 1024, retryDelayMs: 5, progressIntervalMs: 10, saveIntervalMs: 20 };

/** [first, last] byte of every ranged request for MODEL since the log was cleared (the 1-byte probe left out). */
function requestedRanges(): Array<[number, number]> {
  return server.log
    .filter((r) => r.path === cdnPath(MODEL) && r.range && r.range !== 'bytes=0-0')
    .map((r) => {
      const [, a, b] = /bytes=(\d+)-(\d+)/.exec(r.range!)!;
      return [Number(a), Number(b)];
    });
}

/** The resumed run asked only for bytes the record said were missing, and for all of them. */
function assertOnlyMissingRequested(pending: Array<{ next: number; end: number }>, kept: number): void {
  const missing = (byte: number) => pending.some((s) => byte >= s.next && byte < s.end);
  const ranges = requestedRanges();
  for (const [a, b] of ranges) {
    assert.ok(missing(a) && missing(b), `bytes ${a}-${b} were requested again though they were kept`);
  }
  const covered = new Set<number>();
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) covered.add(i);
  assert.equal(covered.size, body.length - kept, 'every missing byte was requested');
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<DownloadError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DownloadError, `expected a DownloadError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

before(async () => {
  const fixtures = await ensureFixtures();
  body = await readFile(fixtures.sentence.modelPath);
  server = await startModelsServer();
  dir = await mkdtemp(join(tmpdir(), 'lens-download-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  test('fetches the whole file over parallel ranges, checks the sha256 Hugging Face announces, leaves no partial', async () => {
    server.files.set(MODEL, { body });
    server.log.length = 0;
    const destination = fresh();
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, onProgress: (p) => progress.push(p) });
    assert.deepEqual(await readFile(destination), body);
    assert.equal(result.sha256, sha256(body));
    assert.equal(result.bytes, body.length);
    assert.equal(existsSync(partialPaths(destination).data), false);
    assert.equal(existsSync(partialPaths(destination).record), false);
    const ranged = requestedRanges();
    assert.ok(ranged.length >= 4, `expected ≥ 4 range requests, saw ${ranged.length}`);
    assert.equal(ranged.filter(([a]) => a === 0).length, 1, 'one connection starts at 0');
    assert.equal(progress.at(-1)!.receivedBytes, body.length);
    assert.ok(progress.every((p) => p.totalBytes === body.length));
  });

  test('a download killed midway keeps its partial file, and the next run fetches only what is missing', async () => {
    server.files.set(MODEL, { body, throttle: { chunk: 2048, pauseMs: 30 } });
    server.log.length = 0;
    const destination = fresh();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/integration/modelsDownloadChild.ts'), server.baseUrl + MODEL, destination], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    // Kill it once a good part is on disk and recorded, well before the end.
    await waitFor(
      'the download to record 30 % of the file (or to end)',
      async () => child.exitCode !== null || ((await partialProgress(destination))?.receivedBytes ?? 0) > body.length * 0.3,
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    assert.equal(child.exitCode, null, `the download ended before it could be killed: ${stderr}`);
    child.kill('SIGKILL');
    await exited;
    const record = JSON.parse(await readFile(partialPaths(destination).record, 'utf8')) as { pending: Array<{ next: number; end: number }> };
    const left = (await partialProgress(destination))!;
    assert.ok(left.receivedBytes > 0 && left.receivedBytes < body.length, `kept ${left.receivedBytes} of ${body.length}`);
    assert.equal(existsSync(destination), false, 'nothing has the final name');

    server.files.set(MODEL, { body });
    server.log.length = 0;
    const result = await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast });
    assert.deepEqual(await readFile(destination), body);
    assert.equal(result.resumedFromBytes, left.receivedBytes);
    assertOnlyMissingRequested(record.pending, left.receivedBytes);
  });

  test('cancel keeps what was fetched; the next run resumes it', async () => {
    server.files.set(MODEL, { body, throttle: { chunk: 4096, pauseMs: 10 } });
    server.log.length = 0;
    const destination = fresh();
    const cancel = new AbortController();
    const run = downloadFile({
      url: server.baseUrl + MODEL,
      destination,
      ...fast,
      signal: cancel.signal,
      onProgress: (p) => p.receivedBytes > body.length / 3 && cancel.abort(),
    });
    await rejectsWith(run, 'cancelled');
    const kept = (await partialProgress(destination))!.receivedBytes;
    assert.ok(kept > body.length / 3, `kept ${kept}`);
    const record = JSON.parse(await readFile(partialPaths(destination).record, 'utf8')) as { pending: Array<{ next: number; end: number }> };
    server.files.set(MODEL, { body });
    server.log.length = 0;
    await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast });
    assert.deepEqual(await readFile(destination), body);
    assertOnlyMissingRequested(record.pending, kept);
  });

  test('connections the server drops are retried from where they stopped', async () => {
    server.files.set(MODEL, { body, dropAfter: { bytes: 10_000, times: 5 } });
    server.log.length = 0;
    const destination = fresh();
    const logged: string[] = [];
    await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, log: (m) => logged.push(m) });
    assert.deepEqual(await readFile(destination), body);
    assert.ok(logged.some((m) => /retrying/.test(m)), logged.join('\n'));
    // Each dropped response is followed by a request that starts where it stopped.
    const data = server.log.filter((r) => r.path === cdnPath(MODEL) && r.range !== 'bytes=0-0');
    const dropped = data.filter((r) => r.sent === 10_000);
    assert.equal(dropped.length, 5);
    for (const d of dropped) assert.ok(data.some((r) => r.from === d.from + d.sent), `no retry from byte ${d.from + d.sent}`);
  });

  test('a server that keeps dropping fails with a network error and keeps the partial for later', async () => {
    server.files.set(MODEL, { body, dropAfter: { bytes: 0, times: 1000 } });
    const destination = fresh();
    const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, retries: 2 }), 'network');
    assert.ok(err.retryable);
    assert.match(err.message, /kept failing \(.+\)\. What was fetched is kept: try again to resume/);
    assert.equal(existsSync(destination), false);
    assert.ok(existsSync(partialPaths(destination).record), 'the record of what is missing is kept');
  });

  test('a host name that does not resolve (offline) fails after two retries, each reported, saying the machine looks offline', async () => {
    const retries: Array<{ attempt: number; of: number }> = [];
    const started = Date.now();
    // .invalid never resolves (RFC 6761); default retries (6), short pauses.
    const err = await rejectsWith(
      downloadFile({ url: 'http://lens-offline.invalid/model.gguf', destination: fresh(), retryDelayMs: 20, onRetry: (r) => retries.push({ attempt: r.attempt, of: r.of }) }),
      'network',
    );
    assert.deepEqual(retries, [{ attempt: 1, of: 2 }, { attempt: 2, of: 2 }], 'two retries, each reported before its pause');
    assert.match(err.message, /lens-offline\.invalid does not resolve .*looks offline/);
    assert.ok(Date.now() - started < 30_000, `gave up in ${Date.now() - started} ms`);
  });

  test('a file of the right size already at the destination is checked against its sha256: a wrong one is fetched again and replaced, a right one kept', async () => {
    server.files.set(MODEL, { body });
    const destination = fresh();
    await mkdir(dirname(destination), { recursive: true });
    const wrong = Buffer.from(body);
    wrong[wrong.length >> 1]! ^= 0xff;
    await writeFile(destination, wrong);
    server.log.length = 0;
    const logged: string[] = [];
    const phases: string[] = [];
    const fetched = await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, log: (m) => logged.push(m), onProgress: (p) => phases.push(p.phase) });
    assert.equal(fetched.alreadyPresent, false);
    assert.deepEqual(await readFile(destination), body, 'the wrong file was replaced by the right one');
    assert.ok(server.bytesSent(MODEL) > body.length, 'the whole file was fetched again');
    assert.ok(logged.some((m) => /model\.gguf is not the file .* \(sha256 [0-9a-f]{12}… instead of [0-9a-f]{12}…\): downloading it again/.test(m)), logged.join('\n'));
    assert.equal(phases[0], 'verifying', 'the file on disk is hashed first, with progress');

    server.log.length = 0;
    phases.length = 0;
    const kept = await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, onProgress: (p) => phases.push(p.phase) });
    assert.equal(kept.alreadyPresent, true);
    assert.equal(kept.sha256, sha256(body), 'checked, not assumed');
    assert.equal(server.bytesSent(MODEL), 1, 'only the probe');
    assert.ok(phases.length > 0 && phases.every((p) => p === 'verifying'));
  });

  test('with no sha256 and no catalogue size, a Content-Length shorter than the size the repository lists is refused, nothing installed', async () => {
    for (const noRanges of [false, true]) {
      server.files.set(MODEL, { body, linkedSha256: null, announcedBytes: body.length - 1000, noRanges });
      const destination = fresh();
      const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast }), 'size-mismatch');
      assert.match(err.message, new RegExp(`offers .* with ${body.length - 1000} bytes, but the repository lists it with ${body.length}: it would arrive truncated`));
      assert.equal(existsSync(destination), false, `nothing installed (${noRanges ? 'no ranges' : 'ranges'})`);
    }
  });

  test('with no sha256 and no catalogue size, bodies cut short are never installed', async () => {
    // A server without ranges that closes every response early: each try starts over, and fails.
    server.files.set(MODEL, { body, linkedSha256: null, noRanges: true, dropAfter: { bytes: 5000, times: 1000 } });
    const destination = fresh();
    await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, retries: 2 }), 'network');
    assert.equal(existsSync(destination), false);
    // A partial file recorded complete but shorter on disk (truncated after the record was written) is not padded and installed.
    server.files.set(MODEL, { body, linkedSha256: null, throttle: { chunk: 4096, pauseMs: 10 } });
    const cut = fresh();
    const cancel = new AbortController();
    await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination: cut, ...fast, signal: cancel.signal, onProgress: (p) => p.receivedBytes > 0 && cancel.abort() }), 'cancelled');
    const record = JSON.parse(await readFile(partialPaths(cut).record, 'utf8')) as { pending: Array<{ next: number; end: number }> };
    await writeFile(partialPaths(cut).record, JSON.stringify({ ...record, pending: [] }));
    await writeFile(partialPaths(cut).data, body.subarray(0, body.length - 1000));
    server.files.set(MODEL, { body, linkedSha256: null });
    const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination: cut, ...fast }), 'size-mismatch');
    assert.match(err.message, new RegExp(`has ${body.length - 1000} bytes instead of ${body.length}; it was deleted, not installed`));
    assert.equal(existsSync(cut), false);
  });

  test('a body sent compressed is refused: its length is not the file\'s', async () => {
    server.files.set(MODEL, { body, linkedSha256: null, contentEncoding: 'gzip' });
    const destination = fresh();
    const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, retries: 0 }), 'server');
    assert.match(err.message, /sent .* compressed \(gzip\)/);
    assert.equal(existsSync(destination), false);
  });

  test('404: a clear error and no files left behind', async () => {
    const destination = fresh();
    const err = await rejectsWith(downloadFile({ url: `${server.baseUrl}/test/Tiny-GGUF/resolve/main/missing.gguf`, destination, ...fast }), 'not-found');
    assert.match(err.message, /not found on the server \(HTTP 404\)/);
    assert.equal(existsSync(destination), false);
    assert.equal(existsSync(partialPaths(destination).data), false);
  });

  test('content that does not match its sha256 is deleted, not installed', async () => {
    const corrupt = Buffer.from(body);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 100) ^ 0xff, corrupt.length - 100);
    server.files.set(MODEL, { body, corruptBody: corrupt });
    const destination = fresh();
    const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast }), 'checksum-mismatch');
    assert.match(err.message, /corrupt .* deleted, not installed/);
    assert.equal(existsSync(destination), false);
    assert.equal(existsSync(partialPaths(destination).data), false);
  });

  test('a file whose size differs from the catalogue is refused before any of it is fetched', async () => {
    server.files.set(MODEL, { body });
    server.log.length = 0;
    const destination = fresh();
    const err = await rejectsWith(
      downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, expected: { bytes: body.length + 5000, tolerance: 0 } }),
      'size-mismatch',
    );
    assert.match(err.message, /not the expected file, so nothing was downloaded/);
    assert.equal(server.bytesSent(MODEL), 1, 'only the 1-byte probe');
    assert.equal(existsSync(destination), false);
  });

  test('not enough free space: refused before the download, with the sizes', async () => {
    server.files.set(MODEL, { body });
    server.log.length = 0;
    const destination = fresh();
    const statfs = async () => ({ bavail: 10, bsize: 4096 });
    const err = await rejectsWith(downloadFile({ url: server.baseUrl + MODEL, destination, ...fast, statfs }), 'no-space');
    assert.match(err.message, /Not enough disk space .* needs 2\d\d KB but only 40\.0 KB is free/);
    assert.equal(server.bytesSent(MODEL), 1);
  });

  test('a server without range support still works, on one connection', async () => {
    server.files.set(MODEL, { body, noRanges: true });
    server.log.length = 0;
    const destination = fresh();
    await downloadFile({ url: server.baseUrl + MODEL, destination, ...fast });
    assert.deepEqual(await readFile(destination), body);
    assert.equal(server.log.filter((r) => r.path === cdnPath(MODEL) && r.status === 200).length, 2, 'the probe and one full GET');
  });
});
