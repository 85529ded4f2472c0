// The local engine: runs InternVL in llama.cpp's own `llama-server`, a child process started on
// first use with the configured files, spoken to with the same OpenAI-compatible client as a
// remote server (../openai/). It keeps several slots (concurrent requests share the model) and the
// prompt cache (a follow-up, or a turn adding an image, evaluates only what is new). It is unloaded
// after a while idle, restarted when the model settings change, and restarted after a crash with
// a growing delay when crashes repeat, until it gives up with a message.
import type { OpenAI } from 'openai';
import { Settings } from '../../config';
import { EngineStateEvents, type ChatOptions, type ChatOutcome, type ChatStats, type ChatTurn, type Engine, type EngineState, type LoadedModel, type TokenListener } from '../engine';
import { EngineError } from '../errors';
import { completionStats, createClient, stoppedStats, streamCompletion, type StreamedCompletion } from '../openai/client';
import { buildRequest, LLAMA_SERVER_REQUEST, type RequestMessage } from '../openai/request';
import { visionFromProps } from '../openai/serverInfo';
import { END_OF_TURN, freePort, LlamaServer, type ServerLaunch, type ServerLog } from './llamaServer';
import { preflightModelFiles } from './preflight';
import type { ChosenServer } from './runtimes/choose';
import { MAX_TILES } from '../../images/tiling';
import { sleep } from '../../util/sleep';
import { errorMessage } from '../../util/errorMessage';

export interface LocalModelSettings {
  modelPath: string;
  mmprojPath: string;
  contextSize: number;
  gpuLayers: number;
  threads: number;
  /** Unload the model after this many idle minutes; 0 keeps it loaded. */
  idleUnloadMinutes: number;
  /** Most 448-px tiles per image (the images arrive already sized to InternVL's grid). */
  maxTiles?: number;
}

export interface LocalEngineOptions {
  settings: () => LocalModelSettings;
  /** Which llama-server to run (runtimes/choose.ts: the setting, a downloaded runtime, the built-in one, PATH). */
  server: () => Promise<ChosenServer>;
  log: ServerLog;
  /** Requests answered at the same time (llama-server slots); more wait their turn. */
  parallel?: number;
  /** First delay before restarting a server that crashed again within a minute; doubles each time. */
  restartBackoffMs?: number;
  /** Crashes within a minute after which no restart is tried until Restart (or a settings change). */
  maxCrashes?: number;
  /** Longest wait for the first and every later streamed piece of an answer. */
  streamTimeoutMs?: number;
}

/** Crashes further apart than this do not count as a crash loop. */
const CRASH_WINDOW_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;
export const DEFAULT_PARALLEL = 2;
export const DEFAULT_MAX_CRASHES = 5;

/** The settings a running server depends on (the idle timeout is not one). */
function settingsKey(s: LocalModelSettings, server: string): string {
  return JSON.stringify([s.modelPath, s.mmprojPath, s.contextSize, s.gpuLayers, s.threads, server]);
}

interface Running {
  server: LlamaServer;
  client: OpenAI;
  key: string;
  info: LoadedModel;
  contextSize: number;
}

/** "request (9000 tokens) exceeds the available context size (8192 tokens)" and its JSON fields. */
function overflowNumbers(err: unknown): { needed: number; context: number } | null {
  const e = err as { error?: { n_prompt_tokens?: unknown; n_ctx?: unknown; type?: unknown }; message?: unknown } | null;
  const n = e?.error?.n_prompt_tokens;
  const c = e?.error?.n_ctx;
  if (typeof n === 'number' && typeof c === 'number' && n > 0 && c > 0) return { needed: n, context: c };
  const m = /\((\d+) tokens\)[^(]*(?:context size|max context size) \((\d+) tokens\)/.exec(String(e?.message ?? ''));
  return m ? { needed: Number(m[1]), context: Number(m[2]) } : null;
}

/** Bytes of text after the last image of the prompt: its tokens are at most that many. */
function textAfterLastImage(messages: RequestMessage[]): { bytes: number; messages: number } {
  let bytes = 0;
  let count = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    count++;
    if (typeof m.content === 'string') {
      bytes += Buffer.byteLength(m.content, 'utf8');
      continue;
    }
    const parts = m.content;
    for (let j = parts.length - 1; j >= 0; j--) {
      const p = parts[j]!;
      if (p.type === 'image_url') return { bytes, messages: count };
      bytes += Buffer.byteLength(p.text, 'utf8');
    }
  }
  return { bytes, messages: count };
}

/** Template tokens per message (`<|im_start|>role\n … <|im_end|>\n`), and the assistant prefix. */
const TOKENS_PER_MESSAGE = 8;

/** At most how many tokens a prompt takes: its images', one per byte of text, and the template's. */
function promptTokenBound(messages: RequestMessage[], imageTokens: number): number {
  let bytes = 0;
  for (const m of messages) {
    if (typeof m.content === 'string') bytes += Buffer.byteLength(m.content, 'utf8');
    else for (const p of m.content) if (p.type === 'text') bytes += Buffer.byteLength(p.text, 'utf8');
  }
  return imageTokens + bytes + TOKENS_PER_MESSAGE * (messages.length + 1);
}

export class LocalEngine implements Engine {
  private running: Running | null = null;
  /** The start in progress, shared by every request that needs the server meanwhile. */
  private starting: Promise<Running> | null = null;
  private readonly states = new EngineStateEvents();
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** Prompt tokens of the requests answering now, and the requests waiting for room in the context. */
  private reservedTokens = 0;
  private readonly contextWaiters = new Set<() => void>();
  private idleTimer: NodeJS.Timeout | null = null;
  private crashes: number[] = [];

  constructor(private readonly options: LocalEngineOptions) {}

  get state(): EngineState {
    return this.states.current;
  }

  /** The running llama-server's process id, if any (diagnostics and tests). */
  get serverPid(): number | undefined {
    return this.running?.server.alive ? this.running.server.pid : undefined;
  }

  /** The running server's log (its last part, bounded), for the log view and tests. */
  get serverLog(): string {
    return this.running?.server.log.text() ?? '';
  }

  /** The running server (tests and diagnostics). */
  get server(): LlamaServer | undefined {
    return this.running?.server;
  }

  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } {
    return this.states.on(listener);
  }

  private setState(state: EngineState): void {
    this.states.set(state);
  }

  private get parallel(): number {
    return Math.max(1, this.options.parallel ?? DEFAULT_PARALLEL);
  }

  /** Runs `task` when a slot is free; `queue.length` is how many wait. */
  private async slotted<T>(task: () => Promise<T>): Promise<T> {
    this.cancelIdleUnload();
    if (this.active >= this.parallel) {
      await new Promise<void>((resolve) => {
        this.queue.push(resolve);
        if (this.states.current.kind === 'busy') this.setState({ ...this.states.current, queued: this.queue.length });
      });
    }
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      const next = this.queue.shift();
      if (next) next();
      else if (this.active === 0) this.scheduleIdleUnload();
    }
  }

  /**
   * Waits until a prompt of `tokens` fits the context beside the prompts being answered (all slots
   * share one KV cache: two that do not fit it together fail in llama-server, "failed to process
   * mtmd chunk"); a prompt alone always runs. Resolves with the release, or early when aborted.
   */
  private async reserveContext(tokens: number, contextSize: number, signal?: AbortSignal): Promise<() => void> {
    while (this.reservedTokens > 0 && this.reservedTokens + tokens > contextSize && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.contextWaiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.contextWaiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
    this.reservedTokens += tokens;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reservedTokens -= tokens;
      for (const wake of [...this.contextWaiters]) wake();
    };
  }

  /** After an answer (still counted in `active`): busy while others answer, else ready. */
  private showAfterAnswer(): void {
    if (!this.running) return;
    if (this.active > 1) this.setState({ kind: 'busy', queued: this.queue.length, ...this.running.info });
    else this.setState({ kind: 'ready', ...this.running.info });
  }

  /** After repeated crashes: gives up past maxCrashes, else waits 0, then 1×, 2×, 4× … the backoff. */
  private async restartDelay(): Promise<void> {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    const max = this.options.maxCrashes ?? DEFAULT_MAX_CRASHES;
    if (this.crashes.length >= max) {
      throw new EngineError(
        'worker-crashed',
        `llama-server crashed ${this.crashes.length} times within a minute, so it is not started again: see the log (InternVL Lens: Show Log), check the model files and ${Settings.gpuLayers}, then run InternVL Lens: Restart Inference Engine.`,
      );
    }
    if (this.crashes.length < 2) return;
    const base = this.options.restartBackoffMs ?? 1000;
    const delay = Math.min(MAX_RESTART_DELAY_MS, base * 2 ** (this.crashes.length - 2));
    const wait = this.crashes.at(-1)! + delay - now;
    if (wait <= 0) return;
    this.options.log('warn', `llama-server crashed ${this.crashes.length} times in a minute: restarting in ${(wait / 1000).toFixed(1)} s`);
    await sleep(wait);
  }

  /** The running server for the current settings, started (or restarted for new settings) when needed. */
  private async ensureRunning(): Promise<Running> {
    const s = this.options.settings();
    if (this.running?.server.alive && this.running.key === settingsKey(s, this.running.server.launch.executable)) return this.running;
    this.starting ??= this.start().finally(() => (this.starting = null));
    const r = await this.starting;
    // Settings changed while it started: start again for the new ones.
    if (r.key !== settingsKey(this.options.settings(), r.server.launch.executable)) return this.ensureRunning();
    return r;
  }

  private async start(): Promise<Running> {
    const s = this.options.settings();
    // Good messages before anything starts: the files are checked first (GGUF pre-flight).
    const files = await preflightModelFiles(s);
    let chosen: ChosenServer;
    try {
      chosen = await this.options.server();
    } catch (err) {
      // No llama-server to run (none built in, none on PATH, a wrong setting): say which setting fixes it.
      const failure = err instanceof EngineError ? err : new EngineError('worker-failed-to-start', errorMessage(err), Settings.llamaServerPath);
      this.setState({ kind: 'error', message: failure.message });
      throw failure;
    }
    const key = settingsKey(s, chosen.executable);
    if (this.running) {
      this.options.log('info', 'model settings changed: restarting llama-server');
      await this.stopServer();
    }
    await this.restartDelay();
    this.setState({ kind: 'loading', progress: null });
    const launch: ServerLaunch = {
      executable: chosen.executable,
      env: chosen.env,
      modelPath: files.modelPath,
      modelName: files.modelName,
      mmprojPath: files.mmprojPath,
      contextSize: s.contextSize,
      gpuLayers: s.gpuLayers,
      threads: s.threads,
      parallel: this.parallel,
    };
    const t0 = performance.now();
    let server: LlamaServer | null = null;
    try {
      for (let attempt = 0; ; attempt++) {
        server = new LlamaServer(launch, await freePort(), this.options.log);
        this.options.log('info', `started llama-server ${server.pid ?? '?'} (${chosen.label}) on 127.0.0.1:${server.port}`);
        try {
          await server.ready();
          break;
        } catch (err) {
          // Another process took the port between our check and its bind: try another.
          if (attempt < 2 && /couldn't bind|address already in use/i.test(server.log.text())) continue;
          throw err;
        }
      }
      const { body } = await server.getJson('/props');
      const props = (body ?? {}) as { default_generation_settings?: { n_ctx?: unknown } };
      // What the server itself says it can take: a model without a (working) projector cannot see.
      const vision = visionFromProps(body) === true;
      const contextSize = typeof props.default_generation_settings?.n_ctx === 'number' ? props.default_generation_settings.n_ctx : s.contextSize;
      const info: LoadedModel = {
        modelName: files.modelName,
        vision,
        backend: `llama-server: ${chosen.label}${s.gpuLayers === 0 ? ', CPU only' : ''}`,
        notice: chosen.notice,
      };
      if (chosen.notice) this.options.log('warn', chosen.notice);
      const client = await createClient({ baseURL: `${server.baseURL}/v1`, apiKey: server.apiKey, timeoutMs: this.options.streamTimeoutMs ?? 10 * 60_000, closeConnections: true });
      const running: Running = { server, client, key, info, contextSize };
      this.running = running;
      this.watch(running);
      this.setState({ kind: 'loading', progress: 1 });
      this.options.log('info', `loaded ${info.modelName} (vision: ${vision}, context ${contextSize}, ${this.parallel} slots) in ${Math.round(performance.now() - t0)} ms`);
      this.setState({ kind: 'ready', ...info });
      return running;
    } catch (err) {
      await server?.stop();
      const failure = err instanceof EngineError ? err : new EngineError('load-failed', `llama-server could not be started: ${errorMessage(err)}`);
      this.setState({ kind: 'error', message: failure.message });
      throw failure;
    }
  }

  /** A server that exits on its own (crash, killed) is forgotten at once, and the crash counted. */
  private watch(r: Running): void {
    void r.server.exited.then((err) => {
      if (this.running !== r) return;
      this.running = null;
      if (err.code === 'worker-crashed') {
        this.crashes.push(Date.now());
        this.setState({ kind: 'error', message: err.message });
      } else {
        this.setState({ kind: 'idle' });
      }
    });
  }

  /** As Engine.chat: answers on a free slot (several at once), the rest wait their turn. */
  chat(turns: ChatTurn[], options: ChatOptions, onToken: TokenListener, signal?: AbortSignal): Promise<ChatOutcome> {
    return this.slotted(async () => {
      if (signal?.aborted) return { text: '', stats: stoppedStats(0) };
      const r = await this.ensureRunning();
      const images = turns.flatMap((t) => t.images);
      if (images.length > 0 && !r.info.vision) {
        throw new EngineError(
          'no-vision',
          `This model cannot see images — add its mmproj file (the vision projector GGUF published with the model) in ${Settings.mmprojPath}.`,
          Settings.mmprojPath,
        );
      }
      const maxTiles = this.options.settings().maxTiles ?? MAX_TILES;
      const prepared = await buildRequest(turns, r.info.modelName, options, maxTiles, LLAMA_SERVER_REQUEST);
      if (signal?.aborted) return { text: '', stats: stoppedStats(prepared.imageTokens) };
      const releaseContext = await this.reserveContext(promptTokenBound(prepared.body.messages, prepared.imageTokens), r.contextSize, signal);
      if (signal?.aborted) {
        releaseContext();
        return { text: '', stats: stoppedStats(prepared.imageTokens) };
      }
      this.setState({ kind: 'busy', queued: this.queue.length, ...r.info });
      const abort = new AbortController();
      const forward = () => abort.abort();
      signal?.addEventListener('abort', forward, { once: true });
      // A server that dies mid-answer ends the answer at once, with its reason.
      let died: EngineError | null = null;
      const exit = r.server.onExit((err) => {
        died = err;
        abort.abort();
      });
      try {
        let streamed: StreamedCompletion;
        try {
          streamed = await streamCompletion(r.client, prepared.body, {
            signal: abort.signal,
            timeoutMs: this.options.streamTimeoutMs ?? 10 * 60_000,
            // One delta per token: the live rate counts tokens exactly.
            onPiece: (piece, deltas) => onToken(piece, deltas),
            trailer: END_OF_TURN,
          });
        } catch (err) {
          throw (await this.exitedSoon(r)) ?? this.explain(err, prepared.imageTokens, images.length);
        }
        if (died) throw died;
        if (streamed.timedOut) throw new EngineError('completion-failed', `llama-server sent nothing for ${Math.round((this.options.streamTimeoutMs ?? 600_000) / 1000)} s; the log has details.`);
        if (!streamed.interrupted && streamed.finish === null) {
          throw (await this.exitedSoon(r)) ?? new EngineError('completion-failed', `llama-server ended the answer without finishing it: ${r.server.log.reason()}`);
        }
        return { text: streamed.text, stats: this.stats(streamed, prepared.body.messages, prepared.imageTokens, options, r.contextSize) };
      } finally {
        releaseContext();
        exit.dispose();
        signal?.removeEventListener('abort', forward);
        if (r.server.alive && this.running === r) this.showAfterAnswer();
      }
    });
  }

  /** The server's exit error when a broken stream was its death (the exit event may follow the closed socket by a moment). */
  private async exitedSoon(r: Running): Promise<EngineError | null> {
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([r.server.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 500)))]);
    clearTimeout(timer);
    return gone;
  }

  /** llama-server's refusal → a message with the numbers and what to change. */
  private explain(err: unknown, imageTokens: number, imageCount: number): EngineError {
    if (err instanceof EngineError) return err;
    const overflow = overflowNumbers(err);
    if (overflow) {
      const imagePart = imageCount ? ` (${imageTokens} of them for ${imageCount === 1 ? 'the image' : `${imageCount} images`})` : '';
      return new EngineError(
        'context-overflow',
        `This turn needs ${overflow.needed} tokens${imagePart}, but the context holds ${overflow.context}: ` +
          `${imageCount ? `use a smaller image (fewer tiles, ${Settings.maxTiles}), ` : ''}start a new chat, or raise ${Settings.contextSize}.`,
        Settings.contextSize,
      );
    }
    const status = (err as { status?: unknown } | null)?.status;
    const message = errorMessage(err);
    if (typeof status === 'number' && status >= 400 && status < 500) return new EngineError('bad-request', `llama-server refused the request: ${message}`);
    return new EngineError('completion-failed', `llama-server failed the answer: ${message}`);
  }

  private stats(r: StreamedCompletion, messages: RequestMessage[], imageTokens: number, options: ChatOptions, contextSize: number): ChatStats {
    const base = completionStats(r, imageTokens);
    const promptTokens = base.promptTokens ?? 0;
    // An image was encoded when more was evaluated than all the text after the last image could hold.
    const tail = textAfterLastImage(messages);
    const imagesEncoded = imageTokens > 0 && promptTokens > tail.bytes + TOKENS_PER_MESSAGE * (tail.messages + 1);
    const context = base.contextTokens ?? 0;
    return {
      ...base,
      imagesEncoded,
      imageEncodeMs: imagesEncoded ? (base.promptMs ?? 0) : 0,
      contextFull: r.finish === 'length' && base.generatedTokens < options.maxTokens && context + base.generatedTokens >= contextSize - 1,
    };
  }

  load(): Promise<LoadedModel> {
    return this.slotted(async () => {
      const r = await this.ensureRunning();
      if (this.active === 1) this.setState({ kind: 'ready', ...r.info });
      return r.info;
    });
  }

  private cancelIdleUnload(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private scheduleIdleUnload(): void {
    this.cancelIdleUnload();
    const minutes = this.options.settings().idleUnloadMinutes;
    if (!(minutes > 0) || !this.running) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.active > 0) return;
      this.options.log('info', `unloading the model after ${minutes} idle minute${minutes === 1 ? '' : 's'}`);
      void this.unload();
    }, minutes * 60_000);
    // An idle timer alone must not keep a CLI process alive.
    this.idleTimer.unref();
  }

  private async stopServer(): Promise<void> {
    const r = this.running;
    this.running = null;
    await r?.server.stop();
  }

  async unload(): Promise<void> {
    this.cancelIdleUnload();
    await this.starting?.catch(() => undefined);
    await this.stopServer();
    this.setState({ kind: 'idle' });
  }

  /** Ends the server and starts it afresh (also after it gave up on repeated crashes). */
  async restart(): Promise<LoadedModel> {
    await this.unload();
    this.crashes = [];
    return this.load();
  }

  async dispose(): Promise<void> {
    await this.unload();
    this.states.clear();
  }
}
