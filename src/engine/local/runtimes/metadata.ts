// What GitHub publishes about the pinned llama.cpp release: the nightly build it names, and each
// asset's size and sha256 digest. Only read when someone asks for a runtime download (or packages
// a VSIX for another platform): local mode sends nothing otherwise.
//
// Trust: the asset names come from release.ts, never from the answer; the URL is built from the
// pinned repository and tag; the digest is release.json's pin when it has one, else the digest
// GitHub computed when the asset was uploaded (immutable, served over TLS by api.github.com). Where
// both exist and differ the asset was replaced after it was pinned: refused.
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { RuntimeError } from './errors';
import type { ReleasePin } from './release';
import { errorMessage } from '../../../util/errorMessage';

/** Where the release API and the downloads live; a test points both at a mirror on 127.0.0.1. */
export interface ReleaseSource {
  apiBase: string;
  downloadBase: string;
}

export const GITHUB: ReleaseSource = { apiBase: 'https://api.github.com', downloadBase: 'https://github.com' };

export interface PublishedAsset {
  name: string;
  bytes: number;
  sha256: string;
  /** Where the digest came from. */
  digestFrom: 'pinned' | 'published';
  url: string;
}

/** A release API answer is a few hundred KB at most (≈ 40 assets). */
const MAX_METADATA_BYTES = 4 * 2 ** 20;
const METADATA_TIMEOUT_MS = 20_000;

/** GET with redirects followed, the body bounded in bytes and the whole exchange in time. */
export function getBounded(
  url: string,
  { maxBytes, timeoutMs, headers = {}, signal }: { maxBytes: number; timeoutMs: number; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<{ status: number; body: Buffer }> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const hop = (target: string, left: number): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const u = new URL(target);
      const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
      if (!client) return reject(new Error(`unsupported URL ${target}`));
      const req = client.get(u, { headers: { 'user-agent': 'internvl-lens', ...headers }, signal: both }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (left <= 0) return reject(new Error(`too many redirects from ${url}`));
          return resolve(hop(new URL(res.headers.location, target).toString(), left - 1));
        }
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            res.destroy();
            reject(new Error(`${u.host}${u.pathname} sent more than ${maxBytes} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', (err) => reject(deadline.aborted ? new Error(`no answer from ${u.host} in ${timeoutMs / 1000} s`) : err));
    });
  return hop(url, 5);
}

interface ApiAsset {
  name: string;
  size: number;
  digest: string | null;
}

function parseRelease(body: Buffer, where: string): ApiAsset[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RuntimeError('metadata', `${where} is not JSON.`);
  }
  const assets = (json as { assets?: unknown })?.assets;
  if (!Array.isArray(assets)) throw new RuntimeError('metadata', `${where} lists no assets.`);
  return assets
    .filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
    .filter((a) => typeof a.name === 'string' && typeof a.size === 'number' && Number.isSafeInteger(a.size) && a.size >= 0)
    .map((a) => ({ name: a.name as string, size: a.size as number, digest: typeof a.digest === 'string' ? a.digest : null }));
}

async function releaseAssets(pin: ReleasePin, tag: string, source: ReleaseSource, signal?: AbortSignal): Promise<ApiAsset[]> {
  const url = `${source.apiBase}/repos/${pin.repo}/releases/tags/${encodeURIComponent(tag)}`;
  const where = `GitHub's release ${pin.repo} ${tag}`;
  let answer: { status: number; body: Buffer };
  try {
    answer = await getBounded(url, { maxBytes: MAX_METADATA_BYTES, timeoutMs: METADATA_TIMEOUT_MS, headers: { accept: 'application/vnd.github+json' }, signal });
  } catch (err) {
    throw new RuntimeError('metadata', `Could not read ${where}: ${errorMessage(err)}. Check the connection and try again.`);
  }
  if (answer.status === 404) throw new RuntimeError('not-published', `${where} was not found (HTTP 404).`);
  if (answer.status === 403 || answer.status === 429) {
    throw new RuntimeError('metadata', `GitHub refused to list ${where} (HTTP ${answer.status}; its API allows 60 requests an hour without signing in): try again later.`);
  }
  if (answer.status !== 200) throw new RuntimeError('metadata', `GitHub answered HTTP ${answer.status} for ${where}.`);
  return parseRelease(answer.body, where);
}

/** `sha256:<hex>` → hex, or null. */
function sha256Of(digest: string | null): string | null {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(digest ?? '');
  return m ? m[1]!.toLowerCase() : null;
}

function downloadUrl(pin: ReleasePin, source: ReleaseSource, tag: string, name: string): string {
  return `${source.downloadBase}/${pin.repo}/releases/download/${encodeURIComponent(tag)}/${encodeURIComponent(name)}`;
}

/** The nightly build tag (b<N>) the release names in its nightly-tag.txt, unless release.json pins it. */
export async function nightlyTag(pin: ReleasePin, source: ReleaseSource, signal?: AbortSignal): Promise<string> {
  if (pin.nightly) return pin.nightly;
  const assets = await releaseAssets(pin, pin.release, source, signal);
  const file = assets.find((a) => a.name === 'nightly-tag.txt');
  if (!file) throw new RuntimeError('not-published', `llama.cpp ${pin.release} names no nightly build (no nightly-tag.txt among its assets), so its binaries cannot be found.`);
  let answer: { status: number; body: Buffer };
  try {
    answer = await getBounded(downloadUrl(pin, source, pin.release, file.name), { maxBytes: 256, timeoutMs: METADATA_TIMEOUT_MS, signal });
  } catch (err) {
    throw new RuntimeError('metadata', `Could not read llama.cpp ${pin.release}'s nightly-tag.txt: ${errorMessage(err)}.`);
  }
  if (answer.status !== 200) throw new RuntimeError('metadata', `llama.cpp ${pin.release}'s nightly-tag.txt: HTTP ${answer.status}.`);
  const published = sha256Of(file.digest);
  if (published && createHash('sha256').update(answer.body).digest('hex') !== published) {
    throw new RuntimeError('untrusted', `llama.cpp ${pin.release}'s nightly-tag.txt does not match the digest GitHub publishes for it.`);
  }
  const tag = answer.body.toString('utf8').trim();
  if (!/^b\d{1,7}$/.test(tag)) throw new RuntimeError('metadata', `llama.cpp ${pin.release}'s nightly-tag.txt names "${tag.slice(0, 40)}", not a build tag (b<number>).`);
  return tag;
}

/** Size, digest and URL of each named asset of the nightly build `tag`; refuses what cannot be checked. */
export async function publishedAssets(pin: ReleasePin, tag: string, names: readonly string[], source: ReleaseSource, signal?: AbortSignal): Promise<PublishedAsset[]> {
  const assets = await releaseAssets(pin, tag, source, signal);
  return names.map((name) => {
    const a = assets.find((x) => x.name === name);
    if (!a) throw new RuntimeError('not-published', `llama.cpp ${pin.release} (build ${tag}) has no asset ${name}.`);
    const published = sha256Of(a.digest);
    const pinned = pin.sha256[name]?.toLowerCase() ?? null;
    if (pinned && published && pinned !== published) {
      throw new RuntimeError(
        'untrusted',
        `${name} on GitHub (sha256 ${published.slice(0, 12)}…) is not the file InternVL Lens pinned (sha256 ${pinned.slice(0, 12)}…): it was replaced after the release, so it is not used.`,
      );
    }
    const sha256 = pinned ?? published;
    if (!sha256) throw new RuntimeError('untrusted', `GitHub publishes no sha256 digest for ${name}, and none is pinned: it cannot be checked, so it is not downloaded.`);
    return { name, bytes: a.size, sha256, digestFrom: pinned ? 'pinned' : 'published', url: downloadUrl(pin, source, tag, name) };
  });
}
