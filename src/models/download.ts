// A resumable HTTP(S) downloader for multi-gigabyte model files: byte ranges over several
// connections at once, a partial file plus a small JSON record of which ranges are still missing
// (so a download survives a cancel, a dropped connection or a restart of the editor), retries with
// backoff, a free-space check before the first byte, and a size and sha256 check before the file
// takes its final name (a file already there is hashed too). Nothing partial ever has the final name.
//
// Why not node-llama-cpp's createModelDownloader (or ipull, which it wraps): both import
// @reflink/reflink, a native addon, which must never be bundled into the extension host; ipull
// keeps progress per 5 MB chunk (a partial chunk is fetched again), offers no free-space seam and
// pulls its CLI progress-bar dependencies (~330 KB) into the host bundle. This file needs none.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, statfs as nodeStatfs } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../files';
import { errorMessage } from '../util/errorMessage';
import { SerialQueue } from '../util/serialQueue';
import { sleep } from '../util/sleep';
import { formatBytes } from './units';

export type DownloadErrorCode =
  | 'not-found'
  | 'forbidden'
  | 'server'
  | 'network'
  | 'no-space'
  | 'size-mismatch'
  | 'checksum-mismatch'
  | 'cancelled'
  | 'io';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** Whether running the download again may succeed; it resumes from what is on disk. */
  get retryable(): boolean {
    return this.code === 'network' || this.code === 'server' || this.code === 'cancelled' || this.code === 'no-space';
  }
}

export interface DownloadProgress {
  phase: 'downloading' | 'verifying';
  /** Bytes on disk, including those kept from an earlier attempt. */
  receivedBytes: number;
  totalBytes: number;
  /** Over the last few seconds; 0 until known. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Bytes that were already on disk when this attempt started. */
  resumedFromBytes: number;
}

/** A try to reach the server failed and another follows after `delayMs`. */
export interface ConnectRetry {
  /** 1 for the first retry. */
  attempt: number;
  /** How many retries there will be at most. */
  of: number;
  delayMs: number;
  reason: string;
}

/** Tries when the host name does not resolve (offline, or a name that does not exist): such a failure rarely passes in seconds. */
const UNRESOLVED_RETRIES = 2;

/** getaddrinfo failures: ENOTFOUND (no such name, or no DNS at all), EAI_AGAIN (DNS not answering). */
export function isUnresolvedHost(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/** fs.statfs, or a stand-in (tests: a full disk cannot be made here without root). */
export type StatFs = (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export interface Expected {
  bytes: number;
  /** How far the real size may be from `bytes` (catalogue sizes are rounded). */
  tolerance: number;
  sha256?: string;
}

export interface DownloadOptions {
  url: string;
  destination: string;
  expected?: Expected;
  /** Parallel connections (ranges); default 4. */
  connections?: number;
  /** Ranges are not split below this; default 16 MiB. */
  minSegmentBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  statfs?: StatFs;
  /** Failed tries in a row, on one range, before giving up; default 6. */
  retries?: number;
  /** Called before each pause between tries to reach the server, so the user sees why nothing moves. */
  onRetry?: (retry: ConnectRetry) => void;
  /** First pause before a retry, doubled each time; default 1000 ms. */
  retryDelayMs?: number;
  /** A connection that sends nothing for this long is dropped and retried; default 30 s. */
  stallTimeoutMs?: number;
  progressIntervalMs?: number;
  saveIntervalMs?: number;
  headers?: Record<string, string>;
  log?: (message: string) => void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** The sha256 the file was checked against, when one was known. */
  sha256: string | null;
  resumedFromBytes: number;
  /** The file was already complete at its final path: nothing was fetched. */
  alreadyPresent: boolean;
}

/** One range still to fetch: [next, end) is missing, [start, next) is on disk. */
interface Segment {
  start: number;
  next: number;
  end: number;
}

interface PartialRecord {
  version: 1;
  url: string;
  totalBytes: number;
  etag: string | null;
  sha256: string | null;
  pending: Segment[];
}

export function partialPaths(destination: string): { data: string; record: string } {
  return { data: `${destination}.partial`, record: `${destination}.partial.json` };
}

async function readRecord(destination: string): Promise<PartialRecord | null> {
  try {
    const r = JSON.parse(await readFile(partialPaths(destination).record, 'utf8')) as PartialRecord;
    if (r.version !== 1 || !Array.isArray(r.pending) || typeof r.totalBytes !== 'number') return null;
    await stat(partialPaths(destination).data);
    return r;
  } catch {
    return null;
  }
}

/** What an earlier attempt left at `destination`, if anything. */
export async function partialProgress(destination: string): Promise<{ receivedBytes: number; totalBytes: number } | null> {
  const r = await readRecord(destination);
  if (!r) return null;
  return { receivedBytes: r.totalBytes - missingBytes(r.pending), totalBytes: r.totalBytes };
}

export async function discardPartial(destination: string): Promise<void> {
  const p = partialPaths(destination);
  await rm(p.data, { force: true });
  await rm(p.record, { force: true });
}

function missingBytes(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + (s.end - s.next), 0);
}

/** Fails with a clear message when `directory`'s file system has less than `bytes` free (plus a small margin). */
export async function ensureFreeSpace(directory: string, bytes: number, statfs: StatFs = nodeStatfs): Promise<void> {
  const s = await statfs(directory);
  const free = Number(s.bavail) * Number(s.bsize);
  const margin = Math.max(64 * 2 ** 20, bytes * 0.01);
  if (free < bytes + margin) {
    throw new DownloadError(
      'no-space',
      `Not enough disk space in ${directory}: the download needs ${formatBytes(bytes)} but only ${formatBytes(free)} is free. Free some space or choose another folder.`,
    );
  }
}

interface Response {
  res: http.IncomingMessage;
  /** sha256 and size Hugging Face announces on its redirect (X-Linked-Etag, X-Linked-Size). */
  linkedSha256: string | null;
  linkedBytes: number | null;
  etag: string | null;
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

/** GET with redirects followed; rejects on network errors, resolves on any final status. */
function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, stallMs: number, redirects = 8): Promise<Response> {
  let linkedSha256: string | null = null;
  let linkedBytes: number | null = null;
  let etag: string | null = null;
  const hop = (target: string, left: number): Promise<Response> =>
    new Promise((resolve, reject) => {
      const u = new URL(target);
      const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
      if (!client) return reject(new DownloadError('server', `Unsupported URL ${target}`));
      const req = client.get(u, { headers: { 'user-agent': 'internvl-lens', 'accept-encoding': 'identity', ...headers }, signal }, (res) => {
        const linked = res.headers['x-linked-etag'];
        const sha = typeof linked === 'string' ? linked.replace(/^W\//, '').replace(/"/g, '').toLowerCase() : '';
        if (/^[0-9a-f]{64}$/.test(sha)) linkedSha256 = sha;
        const size = res.headers['x-linked-size'];
        if (typeof size === 'string' && /^\d+$/.test(size)) linkedBytes = Number(size);
        const tag = res.headers.etag;
        if (typeof tag === 'string' && !etag) etag = tag;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (left <= 0) return reject(new DownloadError('server', `Too many redirects from ${describeUrl(url)}`));
          resolve(hop(new URL(res.headers.location, target).toString(), left - 1));
          return;
        }
        resolve({ res, linkedSha256, linkedBytes, etag });
      });
      req.setTimeout(stallMs, () => req.destroy(new Error(`no answer for ${Math.round(stallMs / 1000)} s`)));
      req.on('error', reject);
    });
  return hop(url, redirects);
}

function statusError(status: number, url: string): DownloadError {
  const where = describeUrl(url);
  if (status === 404 || status === 410) return new DownloadError('not-found', `The file ${where} was not found on the server (HTTP ${status}): it may have been renamed or removed.`);
  if (status === 401 || status === 403) return new DownloadError('forbidden', `The server refused ${where} (HTTP ${status}): the repository may need you to sign in or accept its licence.`);
  return new DownloadError('server', `The server answered HTTP ${status} for ${where}.`);
}

interface ProbeResult {
  totalBytes: number;
  ranges: boolean;
  etag: string | null;
  sha256: string | null;
}

/** A body sent compressed is not the file: its length is the compressed one (we ask for identity). */
function checkEncoding(res: http.IncomingMessage, url: string): void {
  const encoding = res.headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') {
    res.destroy();
    throw new DownloadError('server', `The server sent ${describeUrl(url)} compressed (${encoding}) though it was asked not to; its size cannot be checked.`);
  }
}

/**
 * Asks for the first byte: the answer tells the size, whether ranges work, and (Hugging Face) the
 * sha256 and the size the repository lists, which the size served must match.
 */
async function probe(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, stallMs: number): Promise<ProbeResult> {
  const { res, linkedSha256, linkedBytes, etag } = await get(url, { ...headers, range: 'bytes=0-0' }, signal, stallMs);
  res.resume();
  const status = res.statusCode ?? 0;
  let info: ProbeResult | null = null;
  if (status === 206 || status === 200) checkEncoding(res, url);
  if (status === 206) {
    const m = /^bytes \d+-\d+\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (m) info = { totalBytes: Number(m[1]), ranges: true, etag, sha256: linkedSha256 };
  } else if (status === 200) {
    const length = Number(res.headers['content-length']);
    if (!Number.isFinite(length) || length <= 0 || res.headers['content-length'] === undefined) {
      throw new DownloadError('server', `The server does not say how large ${describeUrl(url)} is, so its download cannot be checked.`);
    }
    res.destroy();
    info = { totalBytes: length, ranges: false, etag, sha256: linkedSha256 };
  }
  if (!info) throw statusError(status, url);
  if (linkedBytes !== null && linkedBytes !== info.totalBytes) {
    throw new DownloadError(
      'size-mismatch',
      `The server offers ${describeUrl(url)} with ${info.totalBytes} bytes, but the repository lists it with ${linkedBytes}: it would arrive truncated or padded, so nothing was downloaded. Try again later.`,
    );
  }
  return info;
}

function isNetworkError(err: unknown): boolean {
  return !(err instanceof DownloadError);
}

/** Splits the largest ranges until there are `connections` of them (none smaller than `minBytes`). */
function plan(pending: Segment[], connections: number, minBytes: number): Segment[] {
  const out = pending.filter((s) => s.next < s.end).map((s) => ({ ...s }));
  while (out.length < connections) {
    const largest = out.reduce<Segment | null>((a, s) => (!a || s.end - s.next > a.end - a.next ? s : a), null);
    if (!largest || largest.end - largest.next < 2 * minBytes) break;
    const mid = largest.next + Math.floor((largest.end - largest.next) / 2);
    out.push({ start: mid, next: mid, end: largest.end });
    largest.end = mid;
  }
  return out;
}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const {
    url,
    destination,
    expected,
    connections = 4,
    minSegmentBytes = 16 * 2 ** 20,
    signal,
    onProgress,
    onRetry,
    statfs = nodeStatfs,
    retries = 6,
    retryDelayMs = 1000,
    stallTimeoutMs = 30_000,
    progressIntervalMs = 500,
    saveIntervalMs = 2000,
    headers = {},
    log = () => undefined,
  } = options;
  const paths = partialPaths(destination);
  const cancelled = () => new DownloadError('cancelled', `The download of ${describeUrl(url)} was cancelled; what was fetched is kept and the next try resumes it.`);
  if (signal?.aborted) throw cancelled();
  await mkdir(dirname(destination), { recursive: true });

  let info: ProbeResult | null = null;
  for (let attempt = 0; !info; attempt++) {
    try {
      info = await probe(url, headers, signal, stallTimeoutMs);
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      const transient = isNetworkError(err) || (err instanceof DownloadError && err.code === 'server');
      if (!transient) throw err;
      const tries = isUnresolvedHost(err) ? Math.min(retries, UNRESOLVED_RETRIES) : retries;
      if (attempt >= tries) {
        if (!isNetworkError(err)) throw err;
        const why = isUnresolvedHost(err) ? `${new URL(url).hostname} does not resolve (${errorMessage(err)}): this machine looks offline, or its DNS cannot find that name` : errorMessage(err);
        throw new DownloadError('network', `Could not reach ${describeUrl(url)}: ${why}. Check the connection and try again.`);
      }
      const delay = Math.min(30_000, retryDelayMs * 2 ** attempt);
      log(`asking for ${describeUrl(url)}: ${errorMessage(err)}; retrying in ${delay} ms`);
      onRetry?.({ attempt: attempt + 1, of: tries, delayMs: delay, reason: errorMessage(err) });
      await sleep(delay, signal);
    }
  }
  if (expected && Math.abs(info.totalBytes - expected.bytes) > expected.tolerance) {
    throw new DownloadError(
      'size-mismatch',
      `The server offers ${describeUrl(url)} with ${info.totalBytes} bytes, but the catalogue expects about ${expected.bytes}: it is not the expected file, so nothing was downloaded.`,
    );
  }
  const sha256 = (expected?.sha256 ?? info.sha256)?.toLowerCase() ?? null;

  // A file of the right size already at the destination (an earlier download, or the user put it
  // there) is kept only if it matches the sha256, when one is known; otherwise it is fetched again,
  // and replaced only once the new copy has been checked.
  const existing = await stat(destination).catch(() => null);
  if (existing?.isFile() && existing.size === info.totalBytes) {
    if (!sha256) return { path: destination, bytes: existing.size, sha256: null, resumedFromBytes: existing.size, alreadyPresent: true };
    const actual = await checkExisting(destination, info.totalBytes, signal, onProgress, cancelled);
    if (actual === sha256) return { path: destination, bytes: existing.size, sha256, resumedFromBytes: existing.size, alreadyPresent: true };
    log(`${destination} is not the file ${describeUrl(url)} (sha256 ${actual.slice(0, 12)}… instead of ${sha256.slice(0, 12)}…): downloading it again; it is replaced once the new copy is checked.`);
  }

  let record = await readRecord(destination);
  if (record && (record.url !== url || record.totalBytes !== info.totalBytes || (record.etag && info.etag && record.etag !== info.etag) || !info.ranges)) {
    log(`the partial download of ${destination} is for another version of the file: starting over`);
    await discardPartial(destination);
    record = null;
  }
  const pending = record ? record.pending : [{ start: 0, next: 0, end: info.totalBytes }];
  const resumedFromBytes = info.totalBytes - missingBytes(pending);
  if (record) log(`resuming ${destination}: ${resumedFromBytes} of ${info.totalBytes} bytes already on disk`);
  await ensureFreeSpace(dirname(destination), missingBytes(pending), statfs);

  const segments = info.ranges ? plan(pending, connections, minSegmentBytes) : [{ start: 0, next: 0, end: info.totalBytes }];
  let handle: FileHandle;
  try {
    handle = await open(paths.data, record ? 'r+' : 'w');
  } catch (err) {
    throw new DownloadError('io', `Cannot write ${paths.data}: ${errorMessage(err)}. Choose another models folder.`);
  }
  const fh = handle;
  const recordOf = (): PartialRecord => ({ version: 1, url, totalBytes: info.totalBytes, etag: info.etag, sha256, pending: segments.filter((s) => s.next < s.end) });
  const saving = new SerialQueue();
  // The data is flushed before the record that vouches for it, so a crash never records bytes that are not on disk.
  const save = () =>
    saving
      .run(async () => {
        if (!info.ranges) return;
        await fh.datasync();
        await writeFileAtomic(paths.record, JSON.stringify(recordOf()));
      })
      .catch((err: unknown) => log(`could not save download progress: ${errorMessage(err)}`));
  await save();

  const startedAt = Date.now();
  const samples: Array<[number, number]> = [[startedAt, 0]];
  let fetchedThisRun = 0;
  const report = (phase: DownloadProgress['phase'] = 'downloading', received = info.totalBytes - missingBytes(segments)) => {
    if (!onProgress) return;
    const now = Date.now();
    samples.push([now, fetchedThisRun]);
    while (samples.length > 2 && now - samples[0]![0] > 5000) samples.shift();
    const [t0, b0] = samples[0]!;
    const bytesPerSecond = now > t0 ? ((fetchedThisRun - b0) * 1000) / (now - t0) : 0;
    const left = info.totalBytes - received;
    onProgress({ phase, receivedBytes: received, totalBytes: info.totalBytes, bytesPerSecond, etaSeconds: bytesPerSecond > 0 ? left / bytesPerSecond : null, resumedFromBytes });
  };
  const progressTimer = setInterval(() => report(), progressIntervalMs);
  // Cancelled by the caller, or stopped because one connection failed for good.
  const stop = new AbortController();
  const onCancel = () => stop.abort();
  signal?.addEventListener('abort', onCancel);
  if (signal?.aborted) stop.abort();
  const saveTimer = setInterval(() => void save(), saveIntervalMs);

  /** One request for the rest of a range; returns when the range is done or the connection ends. */
  const fetchInto = async (seg: Segment): Promise<void> => {
    if (!info.ranges) seg.next = seg.start; // without ranges every try starts over
    const range: Record<string, string> = info.ranges ? { range: `bytes=${seg.next}-${seg.end - 1}` } : {};
    const { res } = await get(url, { ...headers, ...range }, stop.signal, stallTimeoutMs);
    const status = res.statusCode ?? 0;
    if (info.ranges) {
      if (status !== 206) {
        res.resume();
        if (status === 200) throw new DownloadError('server', `The server stopped honouring byte ranges for ${describeUrl(url)}.`);
        if (status === 416) throw new DownloadError('size-mismatch', `The file ${describeUrl(url)} changed on the server during the download.`);
        throw statusError(status, url);
      }
      const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers['content-range'] ?? '');
      if (!m || Number(m[1]) !== seg.next || Number(m[2]) !== info.totalBytes) {
        res.destroy();
        throw new DownloadError('size-mismatch', `The file ${describeUrl(url)} changed on the server during the download (it now reports ${m ? m[2] : 'no'} size).`);
      }
    } else if (status !== 200) {
      res.resume();
      throw statusError(status, url);
    }
    // Compressed bytes are not the file's. A body that ends early (its Content-Length short, or the
    // connection closed) leaves the range unfinished: it is asked for again from where it stopped.
    checkEncoding(res, url);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      const room = seg.end - seg.next;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      try {
        await fh.write(piece, 0, piece.length, seg.next);
      } catch (err) {
        res.destroy();
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC') throw new DownloadError('no-space', `The disk holding ${destination} is full. Free some space and try again: the download resumes.`);
        throw new DownloadError('io', `Cannot write ${paths.data}: ${errorMessage(err)}.`);
      }
      seg.next += piece.length;
      fetchedThisRun += piece.length;
      if (seg.next >= seg.end) {
        res.destroy();
        return;
      }
    }
    if (seg.next < seg.end) throw new Error(`the connection closed ${seg.end - seg.next} bytes before the end of its range`);
  };

  /** Fetches a range to its end, retrying dropped connections; a try that fetched something resets the count. */
  const runSegment = async (seg: Segment): Promise<void> => {
    let failures = 0;
    while (seg.next < seg.end) {
      if (stop.signal.aborted) throw cancelled();
      const before = seg.next;
      try {
        await fetchInto(seg);
      } catch (err) {
        if (stop.signal.aborted) throw cancelled();
        if (err instanceof DownloadError && err.code !== 'server') throw err;
        failures = seg.next > before ? 1 : failures + 1;
        if (failures > retries) {
          throw new DownloadError(
            'network',
            `The download of ${describeUrl(url)} kept failing (${errorMessage(err)}). What was fetched is kept: try again to resume.`,
          );
        }
        const delay = Math.min(30_000, retryDelayMs * 2 ** (failures - 1));
        log(`download of ${describeUrl(url)} at byte ${seg.next}: ${errorMessage(err)}; retrying in ${delay} ms`);
        await sleep(delay, stop.signal);
      }
    }
  };

  /** A connection whose range is done takes half of the largest range still running. */
  const worker = async (first: Segment): Promise<void> => {
    let seg: Segment | null = first;
    while (seg) {
      await runSegment(seg);
      seg = null;
      if (!info.ranges) break;
      const largest = segments.reduce<Segment | null>((a, s) => (!a || s.end - s.next > a.end - a.next ? s : a), null);
      if (largest && largest.end - largest.next >= 2 * minSegmentBytes) {
        const mid = largest.next + Math.floor((largest.end - largest.next) / 2);
        seg = { start: mid, next: mid, end: largest.end };
        largest.end = mid;
        segments.push(seg);
      }
    }
  };

  const outcome: { failure: unknown } = { failure: null };
  try {
    // One connection failing for good stops the others (through `stop`): their progress is saved for the next try.
    await Promise.all(
      segments.map((s) =>
        worker(s).catch((err: unknown) => {
          outcome.failure ??= err;
          stop.abort();
        }),
      ),
    );
  } finally {
    clearInterval(progressTimer);
    clearInterval(saveTimer);
    signal?.removeEventListener('abort', onCancel);
  }
  if (signal?.aborted || outcome.failure) {
    await save();
    await saving.idle();
    await fh.close().catch(() => undefined);
    throw signal?.aborted ? cancelled() : outcome.failure;
  }
  report();
  // Recorded complete: a cancel during the check below resumes straight to the check.
  await save();
  await saving.idle();

  // Verify before the file takes its final name. Every range is recorded done, so the last byte
  // was written: a shorter file lost bytes after they were recorded (truncated on disk), and
  // padding it to size would install zeros. A longer one (an older, larger partial) is cut.
  const size = (await fh.stat()).size;
  if (size < info.totalBytes) {
    await fh.close();
    await discardPartial(destination);
    throw new DownloadError('size-mismatch', `The downloaded file has ${size} bytes instead of ${info.totalBytes}; it was deleted, not installed. Try again.`);
  }
  await fh.truncate(info.totalBytes);
  await fh.close();
  if (sha256) {
    let actual: string;
    try {
      actual = await hashFile(paths.data, signal, (done) => report('verifying', done));
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      throw new DownloadError('io', `Cannot read ${paths.data} to check it: ${errorMessage(err)}.`);
    }
    if (actual !== sha256) {
      await discardPartial(destination);
      throw new DownloadError(
        'checksum-mismatch',
        `The downloaded ${describeUrl(url)} is corrupt (sha256 ${actual.slice(0, 12)}… instead of ${sha256.slice(0, 12)}…); it was deleted, not installed. Try again.`,
      );
    }
  }
  await rename(paths.data, destination);
  await rm(paths.record, { force: true });
  return { path: destination, bytes: info.totalBytes, sha256, resumedFromBytes, alreadyPresent: false };
}

/** The sha256 of a file already at the destination, hashed with 'verifying' progress. */
async function checkExisting(
  path: string,
  totalBytes: number,
  signal: AbortSignal | undefined,
  onProgress: DownloadOptions['onProgress'],
  cancelled: () => DownloadError,
): Promise<string> {
  const report = (receivedBytes: number) => onProgress?.({ phase: 'verifying', receivedBytes, totalBytes, bytesPerSecond: 0, etaSeconds: null, resumedFromBytes: totalBytes });
  report(0);
  try {
    const sha = await hashFile(path, signal, report);
    report(totalBytes);
    return sha;
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    throw new DownloadError('io', `Cannot read ${path} to check it: ${errorMessage(err)}.`);
  }
}

export async function hashFile(path: string, signal?: AbortSignal, onBytes?: (done: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  let last = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 2 ** 20, signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    done += chunk.length;
    if (onBytes && Date.now() - last > 250) {
      last = Date.now();
      onBytes(done);
    }
  }
  return hash.digest('hex');
}
