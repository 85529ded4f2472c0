// The one OpenAI-compatible chat-completions client, shared by both engines: the remote engine
// talks to LMDeploy, vLLM, Ollama or a llama-server elsewhere, the local engine to the
// llama-server it supervises. Both stream their answer through streamCompletion and read the
// same stats (llama-server's `timings`, the standard `usage`).
import type { OpenAI } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ChatStats } from '../engine';

export interface ClientOptions {
  baseURL: string;
  apiKey: string | undefined;
  timeoutMs: number;
  fetch?: typeof fetch;
  /**
   * A new connection for every request (`Connection: close`). For the local llama-server: it
   * sometimes closes a kept-alive connection just as the next request goes out on it (after an
   * image turn: 2–4 in 100 follow-ups failed with "Connection error"), and a connection to
   * 127.0.0.1 costs well under a millisecond.
   */
  closeConnections?: boolean;
}

/** A client for `baseURL` that sends only the key given (never an OPENAI_* variable's) and retries nothing itself. */
export async function createClient(o: ClientOptions): Promise<OpenAI> {
  const mod = await import('openai');
  // dist/openai.js is CommonJS: Node's import() finds its named exports only when the bundle is not
  // minified (cjs-module-lexer); a production build has them on `default` alone.
  const Client = mod.OpenAI ?? (mod as unknown as { default: typeof mod }).default.OpenAI;
  return new Client({
    baseURL: o.baseURL,
    // Explicit nulls: the client would otherwise read OPENAI_* variables and send an unrelated
    // OpenAI key or organisation to this server.
    apiKey: o.apiKey ?? 'unused',
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
    defaultHeaders: { ...(o.apiKey ? {} : { Authorization: null }), ...(o.closeConnections ? { Connection: 'close' } : {}) },
    maxRetries: 0,
    timeout: o.timeoutMs,
    logLevel: 'off',
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
}

/** llama-server's own timings, sent with its last chunk (`cache_n`: prompt tokens taken from the KV cache). */
export interface LlamaServerTimings {
  cache_n?: number;
  prompt_n?: number;
  prompt_ms?: number;
  predicted_n?: number;
  predicted_ms?: number;
  predicted_per_second?: number;
}

export type Usage = NonNullable<ChatCompletionChunk['usage']>;

export interface StreamedCompletion {
  text: string;
  /** The finish reason of the first choice; null when the stream ended without one (the server went away). */
  finish: string | null;
  usage: Usage | null;
  timings: LlamaServerTimings | null;
  started: number;
  firstAt: number | null;
  lastAt: number | null;
  deltas: number;
  /** Stopped by the caller's signal. */
  interrupted: boolean;
  /** Stopped because the server went quiet for longer than the timeout. */
  timedOut: boolean;
}

export interface StreamOptions {
  signal: AbortSignal;
  /** Longest wait for the first and every later streamed piece. */
  timeoutMs: number;
  /** `deltas`: how many streamed deltas the text holds (llama-server sends one per token). */
  onPiece: (text: string, deltas: number) => void;
  /** Makes the request (the caller may retry it); called with the signal that also covers the watchdog. */
  send?: (request: () => Promise<AsyncIterable<ChatCompletionChunk>>, pause: () => void, resume: () => void) => Promise<AsyncIterable<ChatCompletionChunk>>;
  /** Strips what the server adds to the text (llama-server with --special prints the closing <|im_end|>). */
  trailer?: string;
}

/**
 * Streams one chat completion. Aborting `signal` closes the connection, which stops the server's
 * generation too. Errors before the stream starts are thrown as the client raised them.
 */
export async function streamCompletion(client: OpenAI, body: object, o: StreamOptions): Promise<StreamedCompletion> {
  // The server must start answering, and keep streaming, within the timeout: a stalled stream
  // is as dead as a server that never answers.
  const watchdog = new AbortController();
  const combined = AbortSignal.any([o.signal, watchdog.signal]);
  let timer: NodeJS.Timeout | null = null;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const arm = () => {
    disarm();
    timer = setTimeout(() => watchdog.abort(), o.timeoutMs);
  };
  const r: StreamedCompletion = { text: '', finish: null, usage: null, timings: null, started: performance.now(), firstAt: null, lastAt: null, deltas: 0, interrupted: false, timedOut: false };
  // A trailer is held back until what follows shows it is not the end.
  let held = '';
  let heldDeltas = 0;
  const emit = (piece: string, deltas: number) => {
    if (!piece) return;
    const now = performance.now();
    r.firstAt ??= now;
    r.lastAt = now;
    r.deltas += deltas;
    r.text += piece;
    o.onPiece(piece, deltas);
  };
  arm();
  try {
    const request = () => client.chat.completions.create(body as ChatCompletionCreateParamsStreaming, { signal: combined });
    const stream = o.send ? await o.send(request, disarm, arm) : await request();
    arm();
    for await (const chunk of stream) {
      arm();
      if (chunk.usage) r.usage = chunk.usage;
      const t = (chunk as { timings?: LlamaServerTimings }).timings;
      if (t) r.timings = t;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.finish_reason) r.finish = choice.finish_reason;
      const piece = choice.delta?.content;
      if (!piece || o.signal.aborted) continue;
      if (!o.trailer) {
        emit(piece, 1);
        continue;
      }
      held += piece;
      heldDeltas++;
      // Send everything that cannot be the start of the trailer.
      let keep = 0;
      for (let n = Math.min(o.trailer.length, held.length); n > 0; n--) {
        if (o.trailer.startsWith(held.slice(held.length - n))) {
          keep = n;
          break;
        }
      }
      if (keep < held.length) {
        emit(held.slice(0, held.length - keep), keep ? Math.max(1, heldDeltas - 1) : heldDeltas);
        heldDeltas = keep ? 1 : 0;
      }
      held = held.slice(held.length - keep);
    }
  } catch (err) {
    if (!combined.aborted) throw err;
  } finally {
    disarm();
  }
  if (held && held !== o.trailer) emit(held, Math.max(1, heldDeltas));
  r.interrupted = o.signal.aborted;
  r.timedOut = watchdog.signal.aborted && !o.signal.aborted;
  return r;
}

/** The stats of a streamed answer; `imageTokens` as counted on InternVL's grid (servers do not report it). */
export function completionStats(r: StreamedCompletion, imageTokens: number): ChatStats {
  const contextTokens = r.usage?.prompt_tokens ?? (r.timings?.prompt_n !== undefined && r.timings.cache_n !== undefined ? r.timings.prompt_n + r.timings.cache_n : null);
  // Cache reuse is known only when the server reports it: vLLM/OpenAI `cached_tokens`, or
  // llama-server's `cache_n` (or `prompt_n`, the tokens it evaluated, next to the whole prompt).
  const cached = r.usage?.prompt_tokens_details?.cached_tokens;
  let reusedTokens: number | null = null;
  if (typeof r.timings?.cache_n === 'number') reusedTokens = r.timings.cache_n;
  else if (typeof cached === 'number') reusedTokens = cached;
  else if (contextTokens !== null && typeof r.timings?.prompt_n === 'number') reusedTokens = Math.max(0, contextTokens - r.timings.prompt_n);
  const generatedTokens = r.usage?.completion_tokens ?? r.timings?.predicted_n ?? r.deltas;
  let tokensPerSecond = r.timings?.predicted_per_second ?? 0;
  if (!tokensPerSecond && r.firstAt !== null && r.lastAt !== null && r.lastAt > r.firstAt && generatedTokens > 1) {
    tokensPerSecond = ((generatedTokens - 1) * 1000) / (r.lastAt - r.firstAt);
  }
  return {
    promptTokens: r.timings?.prompt_n ?? (contextTokens !== null && reusedTokens !== null ? contextTokens - reusedTokens : contextTokens),
    contextTokens,
    imageTokens,
    reusedTokens,
    kvReused: reusedTokens === null ? null : reusedTokens > 0,
    imagesEncoded: null,
    promptMs: r.timings?.prompt_ms ?? null,
    imageEncodeMs: null,
    generatedTokens,
    timeToFirstTokenMs: r.firstAt === null ? null : r.firstAt - r.started,
    tokensPerSecond,
    interrupted: r.interrupted,
    contextFull: false,
  };
}

/** Stats of an answer stopped before it started. */
export function stoppedStats(imageTokens: number): ChatStats {
  return {
    promptTokens: null,
    contextTokens: null,
    imageTokens,
    reusedTokens: null,
    kvReused: null,
    imagesEncoded: null,
    promptMs: null,
    imageEncodeMs: null,
    generatedTokens: 0,
    timeToFirstTokenMs: null,
    tokensPerSecond: 0,
    interrupted: true,
    contextFull: false,
  };
}
