// A real HTTP server on 127.0.0.1 that answers as GitHub does for llama.cpp's releases: the release
// API (GET /repos/<owner>/<repo>/releases/tags/<tag> → assets with name, size and `digest:
// sha256:…`), and release downloads (/<owner>/<repo>/releases/download/<tag>/<name>) redirected
// (302) to a CDN — the models server (modelsServer.ts), which serves the bytes with ranges and
// faults on demand (dropped connections, corrupt bodies, throttling).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cdnPath, type ModelsServer, type ServedFile, sha256, startModelsServer } from './modelsServer';

export interface MirrorAsset extends ServedFile {
  /** The digest the release API publishes: the body's real one unless set (null: none). */
  digest?: string | null;
}

export interface ReleaseMirror {
  /** Both the API and the download base: `{ apiBase: url, downloadBase: url }`. */
  url: string;
  cdn: ModelsServer;
  /** tag → asset name → asset. */
  releases: Map<string, Map<string, MirrorAsset>>;
  /** API requests made (paths), to tell whether metadata was asked for. */
  apiLog: string[];
  publish(tag: string, name: string, asset: MirrorAsset): void;
  /** Body bytes the CDN sent for one asset, in requests logged from `since` (an index into cdn.log) on. */
  bytesSent(tag: string, name: string, since?: number): number;
  /** The CDN's log entries for one asset. */
  requests(tag: string, name: string, since?: number): ModelsServer['log'];
  close(): Promise<void>;
}

export async function startReleaseMirror(repo = 'ggml-org/llama.cpp'): Promise<ReleaseMirror> {
  const cdn = await startModelsServer();
  const releases = new Map<string, Map<string, MirrorAsset>>();
  const apiLog: string[] = [];
  // The CDN keys files by a Hugging Face-style path; one per tag and name.
  const cdnKey = (tag: string, name: string) => `/${repo}/resolve/main/${tag}--${name}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const api = new RegExp(`^/repos/${repo}/releases/tags/([^/]+)$`).exec(url.pathname);
    if (api) {
      apiLog.push(url.pathname);
      const tag = decodeURIComponent(api[1]!);
      const assets = releases.get(tag);
      if (!assets) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ message: 'Not Found', status: '404' }));
      }
      const body = {
        tag_name: tag,
        assets: [...assets].map(([name, a]) => {
          const digest = a.digest === undefined ? `sha256:${sha256(a.body)}` : a.digest;
          return { name, size: a.body.length, digest, browser_download_url: `https://github.com/${repo}/releases/download/${tag}/${name}` };
        }),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    const dl = new RegExp(`^/${repo}/releases/download/([^/]+)/([^/]+)$`).exec(url.pathname);
    if (dl) {
      const tag = decodeURIComponent(dl[1]!);
      const name = decodeURIComponent(dl[2]!);
      if (!releases.get(tag)?.has(name)) {
        res.writeHead(404);
        return res.end('Not Found');
      }
      res.writeHead(302, { location: `${cdn.baseUrl}${cdnPath(cdnKey(tag, name))}` });
      return res.end();
    }
    res.writeHead(404);
    res.end('Not Found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cdn,
    releases,
    apiLog,
    publish(tag, name, asset) {
      if (!releases.has(tag)) releases.set(tag, new Map());
      releases.get(tag)!.set(name, asset);
      cdn.files.set(cdnKey(tag, name), asset);
    },
    bytesSent: (tag, name, since = 0) => cdn.log.slice(since).filter((r) => r.path === cdnPath(cdnKey(tag, name))).reduce((n, r) => n + r.sent, 0),
    requests: (tag, name, since = 0) => cdn.log.slice(since).filter((r) => r.path === cdnPath(cdnKey(tag, name))),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cdn.close();
    },
  };
}
