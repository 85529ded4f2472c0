// The remote engine: InternVL served by LMDeploy, vLLM, llama-server or Ollama over the
// OpenAI-compatible chat-completions API. Requests run one at a time like the local engine's,
// stream their answer, stop when aborted (the connection is closed, so the server stops too),
// and are retried with backoff while the server is busy (429) or briefly failing (5xx).
import { createHash } from 'node:crypto';
import type { OpenAI } from 'openai';
import { EngineStateEvents, type ChatOptions, type ChatOutcome, type ChatTurn, type Engine, type EngineState, type LoadedModel, type TokenListener } from '../engine';
import { EngineError, type EngineErrorCode } from '../errors';
import { completionStats, createClient, stoppedStats, streamCompletion } from '../openai/client';
import { buildRequest, REMOTE_REQUEST } from '../openai/request';
import { readBoundedText, visionFromProps } from '../openai/serverInfo';
import { keyInClearWarning, parseEndpoint, type Endpoint } from './endpoint';
import { describeFailure, fetchKeepingErrorBodies, httpStatusOf, isRetryable, retryAfterMs, timeoutError, type FailureContext } from './failures';
import { Settings } from '../../config';
import { SerialQueue } from '../../util/serialQueue';
import { sleep } from '../../util/sleep';

export interface RemoteSettings {
  /** The server's URL as configured (`http://host:port/v1`). */
  endpoint: string;
  /** The served model; '' picks the first one the server lists. */
  model: string;
  /** Longest wait for the server to start answering, and between two streamed pieces. */
  timeoutSeconds: number;
  /** InternVL tile limit sent with each image (`max_dynamic_patch`). */
  maxTiles: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First wait when the server does not say; doubles each retry. */
  baseDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is reported instead. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

export type RemoteLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface RemoteEngineOptions {
  settings: () => RemoteSettings;
  /** The API key from SecretStorage (or the CLI's environment); undefined when none is set. */
  apiKey: () => Promise<string | undefined>;
  log: RemoteLog;
  retry?: Partial<RetryPolicy>;
}

interface Connection {
  /** Identifies endpoint, model setting and key (hashed): a change makes a new connection. */
  id: string;
  client: OpenAI;
  endpoint: Endpoint;
  model: string;
  hasApiKey: boolean;
  info: LoadedModel;
}

/** Errors after which the connection is forgotten and the status bar shows the error. */
const CONNECTION_ERRORS = new Set<EngineErrorCode>(['remote-not-configured', 'remote-unreachable', 'remote-tls', 'remote-unauthorized', 'remote-model-not-found']);

export class RemoteEngine implements Engine {
  private readonly states = new EngineStateEvents();
  private connection: Connection | null = null;
  /** Requests run one after another. */
  private readonly requests = new SerialQueue();
  /** Aborts every request in flight (unload, dispose). */
  private readonly inFlight = new Set<AbortController>();
  private readonly retry: RetryPolicy;
  /** Endpoints (base URLs) already warned about a key sent in clear: the log says it once each. */
  private readonly warnedInClear = new Set<string>();

  constructor(private readonly options: RemoteEngineOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  get state(): EngineState {
    return this.states.current;
  }

  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } {
    return this.states.on(listener);
  }

  private setState(state: EngineState): void {
    this.states.set(state);
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const next = this.requests.run(task);
    if (this.states.current.kind === 'busy') this.setState({ ...this.states.current, queued: this.requests.waiting });
    return next;
  }

  private failureContext(endpoint: Endpoint, model: string | null, hasApiKey: boolean, extra: Partial<FailureContext> = {}): FailureContext {
    return { endpoint, model, hasApiKey, timeoutSeconds: this.options.settings().timeoutSeconds, ...extra };
  }

  /**
   * The client for the configured server and the model to ask, made on first use. `verify` asks
   * the server for its models even when one is configured (Load Model: a connection check).
   */
  private async connect(verify: boolean, signal: AbortSignal): Promise<Connection> {
    const s = this.options.settings();
    const endpoint = parseEndpoint(s.endpoint);
    const apiKey = (await this.options.apiKey())?.trim() || undefined;
    const id = createHash('sha256').update(JSON.stringify([endpoint.baseURL, s.model, apiKey ?? ''])).digest('hex');
    if (this.connection?.id === id && !verify) return this.connection;
    this.setState({ kind: 'loading', progress: null });
    const client = await createClient({ baseURL: endpoint.baseURL, apiKey, timeoutMs: s.timeoutSeconds * 1000, fetch: fetchKeepingErrorBodies });
    let model = s.model;
    if (!model || verify) {
      let models: string[];
      try {
        models = await this.withRetries(signal, endpoint, async () => (await client.models.list({ signal })).data.map((m) => m.id));
      } catch (err) {
        // Some proxies serve chat completions but no model list: a configured model still works.
        if (!(model && httpStatusOf(err) === 404)) throw describeFailure(err, this.failureContext(endpoint, model || null, !!apiKey));
        models = [model];
      }
      if (!model) {
        const first = models[0];
        if (!first) throw new EngineError('remote-model-not-found', `The server at ${endpoint.host} lists no models. Check that it has finished loading one.`);
        model = first;
        this.options.log('info', `remote: ${endpoint.host} serves ${models.join(', ')}; using ${model}`);
      } else if (!models.includes(model)) {
        throw describeFailure({ status: 404, message: 'model not found' }, this.failureContext(endpoint, model, !!apiKey, { availableModels: models }));
      }
    }
    // Shown once by whoever shows load notices (the status bar, the CLI), logged once per endpoint.
    const notice = apiKey ? keyInClearWarning(endpoint) : null;
    if (notice && !this.warnedInClear.has(endpoint.baseURL)) {
      this.warnedInClear.add(endpoint.baseURL);
      this.options.log('warn', `remote: ${notice}`);
    }
    const vision = await probeVision(endpoint, model, apiKey, signal);
    if (vision === false) this.options.log('info', `remote: ${endpoint.host} says ${model} takes no images`);
    const info: LoadedModel = { modelName: model, vision: vision ?? true, backend: `remote: ${endpoint.baseURL}`, notice };
    this.connection = { id, client, endpoint, model, hasApiKey: !!apiKey, info };
    this.options.log('info', `remote: using ${model} at ${endpoint.baseURL}${apiKey ? ' (with an API key)' : ''}`);
    return this.connection;
  }

  /** Runs `request`, again after a wait while the server answers 429/5xx (its Retry-After respected). */
  private async withRetries<T>(signal: AbortSignal, endpoint: Endpoint, request: () => Promise<T>, pauseTimer?: () => void, resumeTimer?: () => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (signal.aborted || !isRetryable(err) || attempt >= this.retry.retries) {
          if (attempt > 0 && err && typeof err === 'object') (err as { attempts?: number }).attempts = attempt + 1;
          throw err;
        }
        const asked = retryAfterMs(err);
        if (asked !== null && asked > this.retry.maxDelayMs) {
          (err as { attempts?: number }).attempts = attempt + 1;
          throw err;
        }
        const wait = asked ?? Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
        this.options.log('warn', `remote: ${endpoint.host} answered ${httpStatusOf(err)}; retrying in ${(wait / 1000).toFixed(1)} s (retry ${attempt + 1} of ${this.retry.retries})`);
        pauseTimer?.();
        await sleep(wait, signal);
        resumeTimer?.();
        if (signal.aborted) throw err;
      }
    }
  }

  /** Marks the engine after a failure: connection problems forget the connection and show as errors. */
  private afterFailure(failure: EngineError): void {
    if (CONNECTION_ERRORS.has(failure.code)) {
      this.connection = null;
      this.setState({ kind: 'error', message: failure.message });
    } else if (this.connection) {
      this.setState({ kind: 'ready', ...this.connection.info });
    } else {
      this.setState({ kind: 'error', message: failure.message });
    }
  }

  chat(turns: ChatTurn[], options: ChatOptions, onToken: TokenListener, signal?: AbortSignal): Promise<ChatOutcome> {
    return this.serialised(async () => {
      if (signal?.aborted) return { text: '', stats: stoppedStats(0) };
      const abort = new AbortController();
      const forward = () => abort.abort();
      signal?.addEventListener('abort', forward, { once: true });
      this.inFlight.add(abort);
      try {
        let connection: Connection;
        try {
          connection = await this.connect(false, abort.signal);
        } catch (err) {
          const failure = err instanceof EngineError ? err : describeFailure(err, this.failureContext(parseEndpoint(this.options.settings().endpoint), null, false));
          this.afterFailure(failure);
          throw failure;
        }
        if (!connection.info.vision && turns.some((t) => t.images.length > 0)) {
          throw new EngineError(
            'no-vision',
            `${connection.model} at ${connection.endpoint.host} cannot see images (the server says it has no vision input): serve InternVL3 with its mmproj (llama-server --mmproj), or pick a vision model in ${Settings.remoteModel}.`,
            Settings.remoteModel,
          );
        }
        const maxTiles = this.options.settings().maxTiles;
        const prepared = await buildRequest(turns, connection.model, options, maxTiles, REMOTE_REQUEST);
        if (abort.signal.aborted) return { text: '', stats: stoppedStats(prepared.imageTokens) };
        this.setState({ kind: 'busy', queued: this.requests.waiting, ...connection.info });
        try {
          const outcome = await this.stream(connection, prepared.body, prepared.imageTokens, onToken, abort.signal);
          // Unloaded meanwhile: stay idle.
          if (this.connection === connection) this.setState({ kind: 'ready', ...connection.info });
          return outcome;
        } catch (err) {
          const failure = await this.explain(err, connection);
          this.options.log('error', `remote: ${failure.message}`);
          if (this.connection === connection) this.afterFailure(failure);
          throw failure;
        }
      } finally {
        signal?.removeEventListener('abort', forward);
        this.inFlight.delete(abort);
      }
    });
  }

  /** A failed chat → EngineError; a 404 about the model lists the models the server has. */
  private async explain(err: unknown, c: Connection): Promise<EngineError> {
    if (err instanceof EngineError) return err;
    const extra: Partial<FailureContext> = { attempts: (err as { attempts?: number } | null)?.attempts ?? 1 };
    if (httpStatusOf(err) === 404) {
      try {
        extra.availableModels = (await c.client.models.list({ timeout: 10_000 })).data.map((m) => m.id);
      } catch {
        extra.availableModels = null;
      }
    }
    return describeFailure(err, this.failureContext(c.endpoint, c.model, c.hasApiKey, extra));
  }

  private async stream(c: Connection, body: object, imageTokens: number, onToken: (text: string) => void, signal: AbortSignal): Promise<ChatOutcome> {
    const images = (body as { messages: Array<{ content: unknown }> }).messages.flatMap((m) => (Array.isArray(m.content) ? m.content.filter((p: { type: string }) => p.type === 'image_url') : []));
    this.options.log('debug', `remote: POST ${c.endpoint.baseURL}/chat/completions (model ${c.model}, ${images.length} image${images.length === 1 ? '' : 's'})`);
    const r = await streamCompletion(c.client, body, {
      signal,
      timeoutMs: this.options.settings().timeoutSeconds * 1000,
      // Remote deltas are not always one token each: the live rate stays approximate.
      onPiece: (piece) => onToken(piece),
      send: (request, pause, resume) => this.withRetries(signal, c.endpoint, request, pause, resume),
    });
    if (r.timedOut) throw timeoutError(this.failureContext(c.endpoint, c.model, c.hasApiKey));
    if (!r.interrupted && r.finish === null) {
      throw new EngineError('remote-failed', `The connection to ${c.endpoint.host} ended before the answer was complete${r.text ? ` (after ${r.text.length} characters)` : ''}. The server may have restarted; try again.`);
    }
    if (r.finish === 'error') throw new EngineError('remote-failed', `The server at ${c.endpoint.host} stopped the answer with an error; see the server's log.`);
    return { text: r.text, stats: completionStats(r, imageTokens) };
  }

  /** Connects and checks the server: it answers, accepts the key, and serves the model. */
  load(): Promise<LoadedModel> {
    return this.serialised(async () => {
      const abort = new AbortController();
      this.inFlight.add(abort);
      try {
        const c = await this.connect(true, abort.signal);
        this.setState({ kind: 'ready', ...c.info });
        return c.info;
      } catch (err) {
        const failure = err instanceof EngineError ? err : describeFailure(err, this.failureContext(parseEndpoint(this.options.settings().endpoint), null, false));
        this.afterFailure(failure);
        throw failure;
      } finally {
        this.inFlight.delete(abort);
      }
    });
  }

  /** Stops any answer in flight and forgets the connection; nothing runs on this machine to free. */
  async unload(): Promise<void> {
    for (const a of this.inFlight) a.abort();
    this.connection = null;
    this.setState({ kind: 'idle' });
  }

  async restart(): Promise<LoadedModel> {
    await this.unload();
    return this.load();
  }

  async dispose(): Promise<void> {
    await this.unload();
    this.states.clear();
  }
}

/** Most of a capability answer read (a /props or /api/show body is a few KiB). */
const PROBE_MAX_BYTES = 1024 * 1024;

/**
 * Whether the served model takes images, as the server itself says: llama-server's /props
 * (`modalities.vision`) or Ollama's /api/show (`capabilities`). null when the server says neither
 * (vLLM, LMDeploy, a proxy): then images are sent and the server answers for itself.
 */
export async function probeVision(endpoint: Endpoint, model: string, apiKey: string | undefined, signal: AbortSignal): Promise<boolean | null> {
  const origin = new URL(endpoint.baseURL).origin;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  const ask = async (path: string, init: RequestInit): Promise<unknown> => {
    try {
      const res = await fetch(`${origin}${path}`, { ...init, headers, signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) });
      if (!res.ok) return null;
      const text = await readBoundedText(res, PROBE_MAX_BYTES);
      return text === null ? null : (JSON.parse(text) as unknown);
    } catch {
      return null;
    }
  };
  const props = visionFromProps(await ask('/props', { method: 'GET' }));
  if (props !== null) return props;
  const show = (await ask('/api/show', { method: 'POST', body: JSON.stringify({ model }) })) as { capabilities?: unknown } | null;
  if (Array.isArray(show?.capabilities)) return show.capabilities.includes('vision');
  return null;
}
