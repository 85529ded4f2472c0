// The local engine: runs InternVL in a child process (the worker) started on first use, unloaded
// after a while idle and replaced after a crash (with a growing delay when crashes repeat).
import { randomUUID } from 'node:crypto';
import { EngineStateEvents, type ChatOptions, type ChatOutcome, type ChatTurn, type Engine, type EngineState, type LoadedModel, type TokenListener } from '../engine';
import type { ChatResult, LoadParams } from '../../protocol/worker';
import { preflightModelFiles } from './preflight';
import { WorkerProcess, type WorkerLog } from './workerProcess';

export interface LocalModelSettings {
  modelPath: string;
  mmprojPath: string;
  contextSize: number;
  gpuLayers: number;
  threads: number;
  /** Unload the model after this many idle minutes; 0 keeps it loaded. */
  idleUnloadMinutes: number;
}

export interface LocalEngineOptions {
  workerPath: string;
  settings: () => LocalModelSettings;
  log: WorkerLog;
  /** First delay before restarting a worker that crashed again within a minute; doubles each time. */
  restartBackoffMs?: number;
}

/** Crashes further apart than this do not count as a crash loop. */
const CRASH_WINDOW_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;

const STOPPED_BEFORE_START: ChatResult['stats'] = {
  promptTokens: 0,
  contextTokens: 0,
  imageTokens: 0,
  reusedTokens: 0,
  kvReused: false,
  imagesEncoded: false,
  promptMs: 0,
  imageEncodeMs: 0,
  generatedTokens: 0,
  timeToFirstTokenMs: null,
  tokensPerSecond: 0,
  interrupted: true,
  contextFull: false,
};

/** The settings a loaded model depends on (the idle timeout is not one). */
function settingsKey(s: LocalModelSettings): string {
  return JSON.stringify([s.modelPath, s.mmprojPath, s.contextSize, s.gpuLayers, s.threads]);
}

export class LocalEngine implements Engine {
  private worker: WorkerProcess | null = null;
  /** What the current worker has loaded, and with which parameters. */
  private model: { params: string; settings: string; info: LoadedModel } | null = null;
  private readonly states = new EngineStateEvents();
  /** Requests run one after another: this is the last one queued. */
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private crashes: number[] = [];

  constructor(private readonly options: LocalEngineOptions) {}

  get state(): EngineState {
    return this.states.current;
  }

  /** The running worker's process id, if any (diagnostics and tests). */
  get workerPid(): number | undefined {
    return this.worker?.alive ? this.worker.pid : undefined;
  }

  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } {
    return this.states.on(listener);
  }

  private setState(state: EngineState): void {
    this.states.set(state);
  }

  private ensureWorker(): WorkerProcess {
    if (this.worker?.alive) return this.worker;
    const worker = new WorkerProcess(this.options.workerPath, this.options.log);
    this.options.log('info', `started inference worker ${worker.pid ?? '?'}`);
    void worker.exited.then((err) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.model = null;
      if (err.code === 'worker-crashed') {
        this.crashes.push(Date.now());
        this.setState({ kind: 'error', message: err.message });
      } else {
        this.setState({ kind: 'idle' });
      }
    });
    this.worker = worker;
    return worker;
  }

  /** After repeated crashes, waits before starting another worker: 0, then 1×, 2×, 4× … the backoff. */
  private async restartDelay(): Promise<void> {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    if (this.crashes.length < 2 || this.worker?.alive) return;
    const base = this.options.restartBackoffMs ?? 1000;
    const delay = Math.min(MAX_RESTART_DELAY_MS, base * 2 ** (this.crashes.length - 2));
    const wait = this.crashes.at(-1)! + delay - now;
    if (wait <= 0) return;
    this.options.log('warn', `the worker crashed ${this.crashes.length} times in a minute: restarting in ${(wait / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, wait));
  }

  private async loadParams(): Promise<LoadParams> {
    const s = this.options.settings();
    const files = await preflightModelFiles(s);
    return { ...files, contextSize: s.contextSize, gpuLayers: s.gpuLayers, threads: s.threads };
  }

  /** Starts the worker if needed and loads the configured model into it (a no-op when it already has). */
  private async ensureLoaded(): Promise<{ worker: WorkerProcess; model: LoadedModel }> {
    // The files were checked before the running worker loaded them, and a change on disk would not
    // reach the loaded model anyway: a turn on an unchanged configuration goes straight to the worker.
    const settings = settingsKey(this.options.settings());
    if (this.worker?.alive && this.model?.settings === settings) return { worker: this.worker, model: this.model.info };
    const params = await this.loadParams();
    await this.restartDelay();
    const worker = this.ensureWorker();
    const key = JSON.stringify(params);
    if (this.model?.params === key) return { worker, model: this.model.info };
    this.setState({ kind: 'loading', progress: null });
    try {
      const r = await worker.load(params, (progress) => this.setState({ kind: 'loading', progress }));
      const info: LoadedModel = { modelName: r.modelName, vision: r.vision, backend: `${r.libVariant}: ${r.devices.join(', ') || '?'}`, notice: r.notice };
      if (r.notice) this.options.log('warn', r.notice);
      this.model = { params: key, settings, info };
      return { worker, model: info };
    } catch (err) {
      if (worker.alive) this.setState({ kind: 'error', message: (err as Error).message });
      throw err;
    }
  }

  /** Runs `task` after every request before it; `waiting` counts the ones not yet started. */
  private serialised<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++;
    if (this.states.current.kind === 'busy') this.setState({ ...this.states.current, queued: this.waiting });
    const run = async () => {
      this.waiting--;
      this.cancelIdleUnload();
      try {
        return await task();
      } finally {
        if (this.waiting === 0) this.scheduleIdleUnload();
      }
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** As Engine.chat; the worker knows every stat, so none is null. */
  chat(turns: ChatTurn[], options: ChatOptions, onToken: TokenListener, signal?: AbortSignal): Promise<ChatOutcome & ChatResult> {
    return this.serialised(async () => {
      if (signal?.aborted) return { text: '', stats: STOPPED_BEFORE_START };
      const { worker, model } = await this.ensureLoaded();
      this.setState({ kind: 'busy', queued: this.waiting, ...model });
      try {
        return await worker.chat(
          {
            chatId: randomUUID(),
            messages: turns.map((t) => ({ role: t.role, text: t.text, images: t.images.map((i) => i.path) })),
            maxTokens: options.maxTokens,
            temperature: options.temperature,
          },
          onToken,
          signal,
        );
      } finally {
        // A failed turn (too long, no vision …) leaves the model loaded; a crash sets its own state.
        if (worker.alive && this.model) this.setState({ kind: 'ready', ...this.model.info });
      }
    });
  }

  load(): Promise<LoadedModel> {
    return this.serialised(async () => {
      const { model } = await this.ensureLoaded();
      this.setState({ kind: 'ready', ...model });
      return model;
    });
  }

  private cancelIdleUnload(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private scheduleIdleUnload(): void {
    this.cancelIdleUnload();
    const minutes = this.options.settings().idleUnloadMinutes;
    if (!(minutes > 0) || !this.worker) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.waiting > 0) return;
      this.options.log('info', `unloading the model after ${minutes} idle minute${minutes === 1 ? '' : 's'}`);
      void this.unload();
    }, minutes * 60_000);
    // An idle timer alone must not keep a CLI process alive.
    this.idleTimer.unref();
  }

  async unload(): Promise<void> {
    this.cancelIdleUnload();
    const worker = this.worker;
    this.worker = null;
    this.model = null;
    await worker?.stop();
    this.setState({ kind: 'idle' });
  }

  /** Replaces the worker: unloads, then loads the configured model in a fresh process. */
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
