// One running inference worker: the child process and the JSON-RPC connection to it.
import { type ChildProcess, fork } from 'node:child_process';
import {
  CancellationTokenSource,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
  ResponseError,
} from 'vscode-jsonrpc/node';
import * as v from 'valibot';
import {
  type ChatParams,
  ChatResult,
  HardwareResult,
  type LoadParams,
  LoadResult,
  LogNotification,
  ProgressNotification,
  TokenNotification,
  WorkerErrorData,
  WorkerMethods,
} from '../../protocol/worker';
import { parseMessage } from '../../protocol/validate';
import type { TokenListener } from '../engine';
import { EngineError, type EngineErrorCode } from '../errors';
import { Settings } from '../../config';

export interface WorkerLog {
  (level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

export class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly tokenListeners = new Map<string, TokenListener>();
  private progressListener: ((progress: number) => void) | null = null;
  private readonly pending = new Set<(err: EngineError) => void>();
  private exitError: EngineError | null = null;
  private stopping = false;
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<EngineError>;

  constructor(workerPath: string, private readonly log: WorkerLog) {
    // The host's own runtime (VS Code's Electron run as Node, or code-server's Node).
    this.child = fork(workerPath, [], {
      execPath: process.execPath,
      // Not the host's own flags: an extension host started with --inspect would hand the worker
      // the same debug port, and a host run through a loader (tsx in tests) would slow it.
      execArgv: [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    // Native llama.cpp logs arrive here; they are diagnostics, never data.
    this.child.stdout?.on('data', (d: Buffer) => this.log('debug', `[native] ${d.toString().trimEnd()}`));
    this.child.stderr?.on('data', (d: Buffer) => this.log('debug', `[native] ${d.toString().trimEnd()}`));
    this.exited = new Promise((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        const how = spawnError ? spawnError.message : signal ? `killed by ${signal}` : `exit code ${code}`;
        const err = spawnError
          ? new EngineError('worker-failed-to-start', `The inference worker could not be started: ${how}.`)
          : this.stopping
            ? new EngineError('unloaded', 'The model was unloaded before the answer was complete.')
            : new EngineError('worker-crashed', `The inference worker stopped unexpectedly (${how}). The next request starts a new one; the log has details.`);
        if (!this.exitError) {
          this.exitError = err;
          this.log(code === 0 && !spawnError ? 'info' : 'error', `worker ${this.child.pid ?? '?'} ended: ${how}`);
          for (const reject of this.pending) reject(err);
          this.pending.clear();
          this.connection.dispose();
        }
        resolve(this.exitError);
      };
      this.child.once('exit', (code, signal) => onGone(code, signal));
      this.child.once('error', (e) => onGone(null, null, e));
    });
    this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    this.connection.onNotification(WorkerMethods.token, (raw: unknown) => {
      const n = this.validate(WorkerMethods.token, TokenNotification, raw);
      if (n) this.tokenListeners.get(n.chatId)?.(n.text, n.tokens);
    });
    this.connection.onNotification(WorkerMethods.progress, (raw: unknown) => {
      const n = this.validate(WorkerMethods.progress, ProgressNotification, raw);
      if (n) this.progressListener?.(n.progress);
    });
    this.connection.onNotification(WorkerMethods.log, (raw: unknown) => {
      const n = this.validate(WorkerMethods.log, LogNotification, raw);
      if (n) this.log(n.level, `[worker] ${n.message}`);
    });
    this.connection.onError(([err]) => this.log('error', `worker connection: ${err.message}`));
    this.connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitError === null;
  }

  private validate<S extends v.GenericSchema>(channel: string, schema: S, raw: unknown): v.InferOutput<S> | null {
    try {
      return parseMessage(channel, schema, raw);
    } catch (err) {
      this.log('error', (err as Error).message);
      return null;
    }
  }

  /** Sends a request; rejects with an EngineError if the worker fails it or dies first. */
  private async request<S extends v.GenericSchema>(method: string, params: unknown, schema: S, signal?: AbortSignal): Promise<v.InferOutput<S>> {
    if (this.exitError) throw this.exitError;
    const cts = new CancellationTokenSource();
    const onAbort = () => cts.cancel();
    signal?.addEventListener('abort', onAbort);
    let rejectOnExit!: (err: EngineError) => void;
    const died = new Promise<never>((_, reject) => (rejectOnExit = reject));
    this.pending.add(rejectOnExit);
    try {
      const raw: unknown = await Promise.race([this.connection.sendRequest(method, params, cts.token), died]);
      try {
        return parseMessage(method, schema, raw);
      } catch (err) {
        throw new EngineError('protocol', (err as Error).message);
      }
    } catch (err) {
      if (err instanceof ResponseError) {
        const data = v.safeParse(WorkerErrorData, err.data);
        const kind = data.success ? data.output.kind : 'completion-failed';
        const code: EngineErrorCode = kind === 'no-model' ? 'completion-failed' : kind;
        const setting = code === 'no-vision' ? Settings.mmprojPath : code === 'context-overflow' ? Settings.contextSize : undefined;
        throw new EngineError(code, err.message, setting);
      }
      throw err;
    } finally {
      this.pending.delete(rejectOnExit);
      signal?.removeEventListener('abort', onAbort);
      cts.dispose();
    }
  }

  async load(params: LoadParams, onProgress?: (progress: number) => void): Promise<LoadResult> {
    this.progressListener = onProgress ?? null;
    try {
      return await this.request(WorkerMethods.load, params, LoadResult);
    } finally {
      this.progressListener = null;
    }
  }

  unload(): Promise<unknown> {
    return this.request(WorkerMethods.unload, null, v.unknown());
  }

  async chat(params: ChatParams, onToken: TokenListener, signal?: AbortSignal): Promise<ChatResult> {
    this.tokenListeners.set(params.chatId, onToken);
    // After a stop, tokens still in flight are dropped here as well as in the worker.
    const mute = () => this.tokenListeners.delete(params.chatId);
    signal?.addEventListener('abort', mute);
    try {
      return await this.request(WorkerMethods.chat, params, ChatResult, signal);
    } finally {
      signal?.removeEventListener('abort', mute);
      this.tokenListeners.delete(params.chatId);
    }
  }

  /** The devices the worker's llama.cpp builds see (no model needed). */
  hardware(): Promise<HardwareResult> {
    return this.request(WorkerMethods.hardware, null, HardwareResult);
  }

  /** Ends the worker: politely through IPC, then by signal if it lingers. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    this.child.disconnect?.();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
