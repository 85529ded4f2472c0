// The local engine: runs InternVL in a child process (the worker) started on first use and
// replaced after a crash.
import { randomUUID } from 'node:crypto';
import type { ChatOptions, ChatOutcome, ChatTurn, Engine, EngineState } from '../engine';
import type { LoadParams } from '../../protocol/worker';
import { preflightModelFiles } from './preflight';
import { WorkerProcess, type WorkerLog } from './workerProcess';

export interface LocalModelSettings {
  modelPath: string;
  mmprojPath: string;
  contextSize: number;
  gpuLayers: number;
  threads: number;
}

export interface LocalEngineOptions {
  workerPath: string;
  settings: () => LocalModelSettings;
  log: WorkerLog;
}

export class LocalEngine implements Engine {
  private worker: WorkerProcess | null = null;
  private current: EngineState = { kind: 'idle' };
  private readonly listeners = new Set<(s: EngineState) => void>();

  constructor(private readonly options: LocalEngineOptions) {}

  get state(): EngineState {
    return this.current;
  }

  /** The running worker's process id, if any (diagnostics and tests). */
  get workerPid(): number | undefined {
    return this.worker?.alive ? this.worker.pid : undefined;
  }

  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private setState(state: EngineState): void {
    this.current = state;
    for (const l of this.listeners) l(state);
  }

  private ensureWorker(): WorkerProcess {
    if (this.worker?.alive) return this.worker;
    const worker = new WorkerProcess(this.options.workerPath, this.options.log);
    this.options.log('info', `started inference worker ${worker.pid ?? '?'}`);
    void worker.exited.then((err) => {
      if (this.worker === worker) {
        this.worker = null;
        if (err.code !== 'worker-crashed') this.setState({ kind: 'idle' });
        else this.setState({ kind: 'error', message: err.message });
      }
    });
    this.worker = worker;
    return worker;
  }

  private async loadParams(): Promise<LoadParams> {
    const s = this.options.settings();
    const files = await preflightModelFiles(s);
    return { ...files, contextSize: s.contextSize, gpuLayers: s.gpuLayers, threads: s.threads };
  }

  async chat(turns: ChatTurn[], options: ChatOptions, onToken: (text: string) => void, signal?: AbortSignal): Promise<ChatOutcome> {
    const params = await this.loadParams();
    const worker = this.ensureWorker();
    try {
      if (this.current.kind !== 'ready') this.setState({ kind: 'loading' });
      const loaded = await worker.load(params);
      this.setState({ kind: 'busy', modelName: loaded.modelName });
      const result = await worker.chat(
        {
          chatId: randomUUID(),
          messages: turns.map((t) => ({ role: t.role, text: t.text, images: t.images.map((i) => i.path) })),
          maxTokens: options.maxTokens,
          temperature: options.temperature,
        },
        onToken,
        signal,
      );
      this.setState({ kind: 'ready', modelName: loaded.modelName, vision: loaded.vision });
      return result;
    } catch (err) {
      if (worker.alive) this.setState({ kind: 'error', message: (err as Error).message });
      throw err;
    }
  }

  async unload(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.stop();
    this.setState({ kind: 'idle' });
  }

  async dispose(): Promise<void> {
    await this.unload();
    this.listeners.clear();
  }
}
