// A real HTTP server on 127.0.0.1 that serves model files the way Hugging Face does: byte ranges
// (206 + Content-Range), a redirect from /resolve/ to the file with X-Linked-Etag carrying the
// sha256, and faults on demand (slow streams, dropped connections, 404, a different file).
// Every request is logged with the bytes it was sent, so tests can tell what was fetched twice.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ServedFile {
  body: Buffer;
  /** Bytes per write and pause between writes (ms), to make a download take a while. */
  throttle?: { chunk: number; pauseMs: number };
  /** Ends the connection after sending this many bytes of a response, for the first `times` responses. */
  dropAfter?: { bytes: number; times: number };
  /** Announce this sha256 in X-Linked-Etag (default: the body's real one). */
  linkedSha256?: string | null;
  /** Announce this size in X-Linked-Size (default: the body's real one). */
  linkedBytes?: number | null;
  /** Serve this body instead while announcing `body`'s size (a corrupt mirror). */
  corruptBody?: Buffer;
  /** Answer ranged requests with 200 and the whole file (a server without range support). */
  noRanges?: boolean;
  /**
   * Serve only this many bytes of `body`, announced as the whole file (Content-Length,
   * Content-Range), as a truncating proxy would; the redirect's X-Linked-Size still tells the truth.
   */
  announcedBytes?: number;
  /** Send this Content-Encoding (the bytes are not encoded: what matters is that the header is refused). */
  contentEncoding?: string;
}

export interface LoggedRequest {
  path: string;
  range: string | null;
  status: number;
  /** Body bytes written to the socket. */
  sent: number;
  /** First byte offset the response started at. */
  from: number;
}

export interface ModelsServer {
  baseUrl: string;
  files: Map<string, ServedFile>;
  log: LoggedRequest[];
  /** Body bytes sent for one path since the log was last cleared. */
  bytesSent(path: string): number;
  close(): Promise<void>;
}

/** Where /<owner>/<repo>/resolve/main/<file> redirects to. */
export function cdnPath(resolvePath: string): string {
  return `/cdn${resolvePath.replace('/resolve/main/', '/')}`;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Paths look like Hugging Face's: /<owner>/<repo>/resolve/main/<file> redirects (302) to
 * /cdn/<owner>/<repo>/<file>, which serves the bytes. `files` is keyed by the /resolve/ path.
 */
export async function startModelsServer(): Promise<ModelsServer> {
  const files = new Map<string, ServedFile>();
  const log: LoggedRequest[] = [];
  const drops = new Map<string, number>();
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: LoggedRequest = { path: url.pathname, range: req.headers.range ?? null, status: 0, sent: 0, from: 0 };
    log.push(entry);
    const finish = (status: number, headers: http.OutgoingHttpHeaders = {}, body?: string) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    if (url.pathname.includes('/resolve/main/')) {
      const file = files.get(url.pathname);
      if (!file) return finish(404, { 'content-type': 'text/plain' }, 'Entry not found');
      const linked = file.linkedSha256 === undefined ? sha256(file.body) : file.linkedSha256;
      const linkedSize = file.linkedBytes === undefined ? file.body.length : file.linkedBytes;
      return finish(302, {
        location: cdnPath(url.pathname),
        ...(linked ? { 'x-linked-etag': `"${linked}"` } : {}),
        ...(linkedSize !== null ? { 'x-linked-size': String(linkedSize) } : {}),
        etag: `"${sha256(file.body).slice(0, 16)}"`,
      });
    }
    const resolvePath = url.pathname.startsWith('/cdn/') ? url.pathname.slice(4).replace(/^(\/[^/]+\/[^/]+)\//, '$1/resolve/main/') : '';
    const file = files.get(resolvePath);
    if (!file) return finish(404, { 'content-type': 'text/plain' }, 'Entry not found');
    const total = file.announcedBytes ?? file.body.length;
    const served = (file.corruptBody ?? file.body).subarray(0, total);
    let start = 0;
    let end = total - 1;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !file.noRanges) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), total - 1) : total - 1;
      if (start >= total) return finish(416, { 'content-range': `bytes */${total}` });
      status = 206;
    }
    entry.status = status;
    entry.from = start;
    res.writeHead(status, {
      'content-length': String(end - start + 1),
      'accept-ranges': file.noRanges ? 'none' : 'bytes',
      etag: `"${sha256(file.body).slice(0, 16)}"`,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${total}` } : {}),
      ...(file.contentEncoding ? { 'content-encoding': file.contentEncoding } : {}),
    });
    const body = served.subarray(start, end + 1);
    const dropsSoFar = drops.get(resolvePath) ?? 0;
    // The 1-byte size probe is never dropped, so a test reaches the data phase.
    const dropAt = file.dropAfter && dropsSoFar < file.dropAfter.times && body.length > 1 && body.length > file.dropAfter.bytes ? file.dropAfter.bytes : null;
    if (dropAt !== null) drops.set(resolvePath, dropsSoFar + 1);
    const limit = dropAt ?? body.length;
    const chunk = file.throttle?.chunk ?? 64 * 1024;
    let offset = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (offset >= limit) {
        if (dropAt !== null) res.socket?.destroy();
        else res.end();
        return;
      }
      const piece = body.subarray(offset, Math.min(limit, offset + chunk));
      offset += piece.length;
      entry.sent += piece.length;
      const more = res.write(piece);
      const next = () => (file.throttle ? setTimeout(pump, file.throttle.pauseMs) : setImmediate(pump));
      if (more) next();
      else res.once('drain', next);
    };
    pump();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    files,
    log,
    bytesSent: (path) => log.filter((r) => r.path === cdnPath(path)).reduce((n, r) => n + r.sent, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
