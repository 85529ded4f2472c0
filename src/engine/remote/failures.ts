// What went wrong talking to a remote server, in words a user can act on. The OpenAI client's
// errors are read by shape (status, headers, cause chain), so this module needs no runtime import
// of the client, which is loaded only when the remote engine is used.
import { Settings } from '../../config';
import { EngineError } from '../errors';
import type { Endpoint } from './endpoint';
import { errorMessage } from '../../util/errorMessage';

export const SET_API_KEY_COMMAND_TITLE = 'InternVL Lens: Set API Key';

/** Bodies of failed responses, keyed by the response's Headers (the client keeps only `error.*` of a body). */
const errorBodies = new WeakMap<object, string>();

/**
 * `fetch` that remembers the body of every failed response: LMDeploy and vLLM put their message
 * at the top level (`{"object":"error","message":…}`), which the client drops.
 */
export const fetchKeepingErrorBodies: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const text = await response.text().catch(() => '');
  const copy = new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  errorBodies.set(copy.headers, text);
  return copy;
};

interface StatusErrorShape {
  status: number;
  headers?: Headers;
  error?: unknown;
  message: string;
}

export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function asStatusError(err: unknown): StatusErrorShape | null {
  return httpStatusOf(err) === undefined ? null : (err as StatusErrorShape);
}

/** The server's own words from an error body: `message`, `error.message`, `detail`… whichever it uses. */
export function serverMessage(err: unknown): string {
  const e = asStatusError(err);
  const raw = e?.headers ? errorBodies.get(e.headers) : undefined;
  const candidates: unknown[] = [];
  if (raw) {
    try {
      candidates.push(JSON.parse(raw));
    } catch {
      candidates.push(raw);
    }
  }
  if (e?.error !== undefined) candidates.push({ error: e.error });
  for (const c of candidates) {
    const found = findMessage(c, 0);
    if (found) return found.length > 300 ? `${found.slice(0, 300)}…` : found;
  }
  return '';
}

function findMessage(value: unknown, depth: number): string | null {
  if (depth > 4 || value == null) return null;
  if (typeof value === 'string') return value.trim() || null;
  if (typeof value !== 'object') return null;
  const o = value as Record<string, unknown>;
  for (const key of ['message', 'error', 'detail', 'msg']) {
    const found = findMessage(o[key], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Codes and messages of an error and its causes (fetch failures nest the system error twice). */
function causeChain(err: unknown): { codes: string[]; text: string } {
  const codes: string[] = [];
  const texts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 6 && e; i++) {
    const o = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.code === 'string') codes.push(o.code);
    if (typeof o.message === 'string') texts.push(o.message);
    // Happy-eyeballs connects fail with an AggregateError of one error per address.
    if (Array.isArray(o.errors)) for (const inner of o.errors) if (typeof (inner as { code?: unknown }).code === 'string') codes.push((inner as { code: string }).code);
    e = o.cause;
  }
  return { codes, text: texts.join(': ') };
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|EPROTO$|HOSTNAME_MISMATCH)/;

/** Words servers use when the model has no vision tower (llama-server without --mmproj, a text model on vLLM). */
const NO_VISION = /image input is not supported|does not support (multi-?modal|image|vision)|not a multimodal model|multimodal.*not supported|mmproj|vision.*not (supported|enabled)|cannot (accept|process) images?|image_url.*not supported/i;

export function isNoVisionMessage(text: string): boolean {
  return NO_VISION.test(text);
}

/** Whether a failed request may succeed if sent again: the server was busy or briefly broken. */
export function isRetryable(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status === undefined) return false;
  if (isNoVisionMessage(serverMessage(err))) return false;
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Milliseconds the server asks to wait (`retry-after-ms`, `Retry-After` in seconds or as a date), if it says. */
export function retryAfterMs(err: unknown, now = Date.now()): number | null {
  const headers = asStatusError(err)?.headers;
  if (!headers || typeof headers.get !== 'function') return null;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return null;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export interface FailureContext {
  endpoint: Endpoint;
  model: string | null;
  hasApiKey: boolean;
  timeoutSeconds: number;
  /** Models the server lists, when known (for a 404). */
  availableModels?: string[] | null;
  attempts?: number;
}

function statusText(status: number, detail: string): string {
  return detail ? `${status}: ${detail}` : `HTTP ${status}`;
}

/** An error from the client or the network → an EngineError that says what to do. */
export function describeFailure(err: unknown, ctx: FailureContext): EngineError {
  if (err instanceof EngineError) return err;
  const where = ctx.endpoint.host;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const detail = serverMessage(err);
    if (status === 401 || status === 403) {
      const fix = ctx.hasApiKey
        ? `The API key stored for it was refused: run "${SET_API_KEY_COMMAND_TITLE}" to enter the right one.`
        : `It needs an API key: run "${SET_API_KEY_COMMAND_TITLE}".`;
      return new EngineError('remote-unauthorized', `The server at ${where} refused the request (${statusText(status, detail)}). ${fix}`);
    }
    if (isNoVisionMessage(detail)) {
      return new EngineError(
        'no-vision',
        `The model ${ctx.model ?? ''} on ${where} cannot take images (${statusText(status, detail)}). Serve an InternVL3 vision model; llama-server needs its --mmproj file.`.replace('model  on', 'model on'),
        Settings.remoteModel,
      );
    }
    if (status === 404) {
      if (ctx.availableModels && ctx.model && !ctx.availableModels.includes(ctx.model)) {
        return new EngineError(
          'remote-model-not-found',
          `The server at ${where} has no model "${ctx.model}". It serves: ${ctx.availableModels.join(', ') || '(none)'}. Set ${Settings.remoteModel} to one of them, or leave it empty to use the first.`,
          Settings.remoteModel,
        );
      }
      if (/model/i.test(detail)) {
        return new EngineError('remote-model-not-found', `The server at ${where} does not know the model "${ctx.model ?? ''}" (${statusText(status, detail)}). Check ${Settings.remoteModel}.`, Settings.remoteModel);
      }
      return new EngineError(
        'remote-not-configured',
        `${ctx.endpoint.baseURL} has no OpenAI-compatible API (${statusText(status, detail)}). Check ${Settings.remoteEndpoint}: it usually ends in /v1.`,
        Settings.remoteEndpoint,
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      const tries = ctx.attempts && ctx.attempts > 1 ? ` after ${ctx.attempts} attempts` : '';
      const busy = status === 429 ? 'is busy' : 'failed';
      return new EngineError('remote-failed', `The server at ${where} ${busy}${tries} (${statusText(status, detail)}). Try again later, or check the server's log.`);
    }
    return new EngineError('bad-request', `The server at ${where} rejected the request (${statusText(status, detail)}).`);
  }
  const { codes, text } = causeChain(err);
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'APIConnectionTimeoutError' || codes.includes('UND_ERR_CONNECT_TIMEOUT') || codes.includes('ETIMEDOUT')) {
    return timeoutError(ctx);
  }
  if (codes.includes('ECONNREFUSED')) {
    return new EngineError('remote-unreachable', `Nothing answers at ${where} (connection refused). Is the server running? Check ${Settings.remoteEndpoint}.`, Settings.remoteEndpoint);
  }
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN')) {
    return new EngineError('remote-unreachable', `The host ${ctx.endpoint.hostname} cannot be found (${codes.includes('EAI_AGAIN') ? 'DNS lookup timed out' : 'unknown host'}). Check ${Settings.remoteEndpoint}.`, Settings.remoteEndpoint);
  }
  if (codes.includes('EHOSTUNREACH') || codes.includes('ENETUNREACH')) {
    return new EngineError('remote-unreachable', `${where} cannot be reached from this machine (no route to it). Check the network or VPN, and ${Settings.remoteEndpoint}.`, Settings.remoteEndpoint);
  }
  const tls = codes.find((c) => TLS_CODES.test(c));
  if (tls || /wrong version number|ssl routines|certificate|tls/i.test(text)) {
    const plainHttp = /wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${text} ${codes.join(' ')}`);
    const fix = plainHttp
      ? 'The server may speak plain HTTP: try http:// in '
      : 'If the server uses a private or self-signed certificate, make your system trust it (or start VS Code with NODE_EXTRA_CA_CERTS); check ';
    return new EngineError('remote-tls', `The secure connection to ${where} failed (${tls ?? 'TLS'}: ${tlsReason(text)}). ${fix}${Settings.remoteEndpoint}.`, Settings.remoteEndpoint);
  }
  if (codes.includes('ECONNRESET') || codes.includes('UND_ERR_SOCKET') || /terminated|other side closed|socket hang up/i.test(text)) {
    return new EngineError('remote-failed', `The connection to ${where} was closed before the answer was complete (${lastPart(text) || codes.join(', ')}). The server may have restarted or run out of memory; try again.`);
  }
  const message = errorMessage(err);
  return new EngineError('remote-failed', `The request to ${where} failed: ${text || message}`);
}

export function timeoutError(ctx: FailureContext): EngineError {
  return new EngineError(
    'remote-timeout',
    `The server at ${ctx.endpoint.host} did not answer within ${ctx.timeoutSeconds} s. It may be overloaded or the image too large; raise ${Settings.remoteTimeoutSeconds} or check the server.`,
    Settings.remoteTimeoutSeconds,
  );
}

/** OpenSSL's reason without its error-queue prefix and source location. */
function tlsReason(text: string): string {
  return /SSL routines:[^:]*:([^:\n]+)/.exec(text)?.[1]?.trim() ?? lastPart(text);
}

function lastPart(text: string): string {
  const parts = text.split(': ').filter(Boolean);
  return parts.at(-1) ?? '';
}
