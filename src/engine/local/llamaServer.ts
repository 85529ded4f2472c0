// One running llama.cpp `llama-server`: the child process that holds the model, reachable only
// from this machine (127.0.0.1, a port picked free at start) and only with the random API key it
// was started with (passed in its environment, which other users cannot read, not on its command
// line, which they can). Its log goes to a bounded buffer; its health comes from GET /health.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { EngineError } from '../errors';
import { Settings } from '../../config';
import { readBoundedText } from '../openai/serverInfo';

export type ServerLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface ServerLaunch {
  executable: string;
  /** Extra environment for the process (runtimes.ChosenServer.env). */
  env: Record<string, string>;
  modelPath: string;
  /** What the server calls the model (general.name): the model id in its API. */
  modelName: string;
  mmprojPath: string | null;
  contextSize: number;
  /** -1: all layers on the GPU; 0: CPU only. */
  gpuLayers: number;
  /** 0: llama.cpp's default. */
  threads: number;
  /** Slots: requests answered at the same time, sharing the context (--kv-unified). */
  parallel: number;
}

/** How much of the server's log is kept (its last part) for messages and the log view. */
export const SERVER_LOG_BYTES = 256 * 1024;
/** Longest a model load may take before the start counts as failed. */
export const LOAD_TIMEOUT_MS = 10 * 60_000;

/** The closing token llama-server prints with --special (needed to keep <ref>/<box> in the text). */
export const END_OF_TURN = '<|im_end|>';

/** A free TCP port on 127.0.0.1 (the OS picks it; the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** The command line for `launch` (the key goes in the environment). */
export function serverArgs(launch: ServerLaunch, port: number): string[] {
  const args = [
    '--model', launch.modelPath,
    '--alias', launch.modelName,
    ...(launch.mmprojPath ? ['--mmproj', launch.mmprojPath] : []),
    '--ctx-size', String(launch.contextSize),
    '--n-gpu-layers', launch.gpuLayers < 0 ? '999' : String(launch.gpuLayers),
    ...(launch.threads > 0 ? ['--threads', String(launch.threads)] : []),
    ...(launch.gpuLayers === 0 ? ['--no-mmproj-offload'] : []),
    '--parallel', String(launch.parallel),
    // Every slot sees the whole context (a turn that fits alone fits on any slot).
    '--kv-unified',
    // <ref>, <box> and the like are control tokens: without --special they never reach the text.
    '--special',
    '--jinja',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--no-webui',
    '--no-warmup',
  ];
  return args;
}

/** The last `limit` bytes of what was appended, cut at a line start. */
export class BoundedLog {
  private chunks: string[] = [];
  private bytes = 0;
  constructor(private readonly limit = SERVER_LOG_BYTES) {}

  append(text: string): void {
    this.chunks.push(text);
    this.bytes += text.length;
    while (this.bytes > this.limit && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
    if (this.bytes > this.limit) {
      const only = this.chunks[0]!;
      this.chunks[0] = only.slice(only.length - this.limit);
      this.bytes = this.chunks[0].length;
    }
  }

  get size(): number {
    return this.bytes;
  }

  text(): string {
    return this.chunks.join('');
  }

  /** The last lines that say what went wrong, for an error message. */
  reason(): string {
    const lines = this.text().split('\n').map((l) => l.trim()).filter(Boolean);
    const telling = lines.filter((l) => /error|failed|abort|assert|unable|cannot|invalid|exceeds|out of memory|unknown argument/i.test(l));
    return (telling.length ? telling : lines).slice(-3).join(' / ').slice(0, 600);
  }
}

export class LlamaServer {
  private readonly child: ChildProcess;
  readonly log = new BoundedLog();
  readonly apiKey = randomBytes(24).toString('base64url');
  readonly baseURL: string;
  private exitError: EngineError | null = null;
  /** How the process ended, once it has. */
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private stopping = false;
  private readonly exitListeners = new Set<(err: EngineError) => void>();
  /** Resolves when the process has exited, for whatever reason, with what to tell the user. */
  readonly exited: Promise<EngineError>;

  constructor(readonly launch: ServerLaunch, readonly port: number, private readonly logLine: ServerLog) {
    this.baseURL = `http://127.0.0.1:${port}`;
    this.child = spawn(launch.executable, serverArgs(launch, port), {
      env: { ...process.env, ...launch.env, LLAMA_API_KEY: this.apiKey },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const onData = (d: Buffer) => {
      const text = d.toString();
      this.log.append(text);
      this.logLine('debug', `[llama-server] ${text.trimEnd()}`);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (!this.exitError) {
          this.exitStatus = { code, signal };
          const how = spawnError ? spawnError.message : signal ? `killed by ${signal}` : `exit code ${code}`;
          const reason = this.log.reason();
          this.exitError = spawnError
            ? new EngineError('worker-failed-to-start', `llama-server (${launch.executable}) could not be started: ${how}. Check ${Settings.llamaServerPath} or choose another runtime.`, Settings.llamaServerPath)
            : this.stopping
              ? new EngineError('unloaded', 'The model was unloaded before the answer was complete.')
              : new EngineError('worker-crashed', `llama-server stopped unexpectedly (${how})${reason ? `: ${reason}` : ''}. The next request starts it again; the log has details.`);
          this.logLine(this.stopping ? 'info' : 'error', `llama-server ${this.child.pid ?? '?'} ended: ${how}`);
          for (const l of this.exitListeners) l(this.exitError);
          this.exitListeners.clear();
        }
        resolve(this.exitError);
      };
      this.child.once('exit', (code, signal) => onGone(code, signal));
      this.child.once('error', (e) => onGone(null, null, e));
    });
  }

  /** Calls `listener` when the process exits (at once if it has); dispose to stop listening. */
  onExit(listener: (err: EngineError) => void): { dispose(): void } {
    if (this.exitError) {
      listener(this.exitError);
      return { dispose: () => undefined };
    }
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitError === null;
  }

  /** GET a JSON endpoint with the key; null when the server answers with an error status. */
  async getJson(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.baseURL}${path}`, { headers: { Authorization: `Bearer ${this.apiKey}` }, signal: signal ?? AbortSignal.timeout(5000) });
    // Bounded: /props carries the chat template, a few KB; nothing it sends is near this.
    const text = await readBoundedText(res, 4 * 1024 * 1024);
    if (text === null) return { status: res.status, body: null };
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  }

  /**
   * Resolves once /health says the model is loaded; rejects with the server's own reason when
   * it exits first (a bad file, too little memory) or does not get there within `timeoutMs`.
   */
  async ready(timeoutMs = LOAD_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!exited) {
      if (Date.now() > deadline) {
        await this.stop();
        throw new EngineError('load-failed', `llama-server did not finish loading ${this.launch.modelPath} within ${Math.round(timeoutMs / 1000)} s: ${this.log.reason() || 'no log'}.`);
      }
      try {
        const { status } = await this.getJson('/health', AbortSignal.timeout(2000));
        if (status === 200) return;
      } catch {
        // Not listening yet.
      }
      await Promise.race([new Promise((r) => setTimeout(r, 50)), this.exited]);
    }
    const err = await this.exited;
    if (err.code === 'worker-crashed') {
      throw new EngineError('load-failed', `llama-server could not load ${this.launch.modelPath}${this.launch.mmprojPath ? ` with ${this.launch.mmprojPath}` : ''}: ${this.log.reason() || err.message}`, Settings.modelPath);
    }
    throw err;
  }

  /** Ends the server: SIGTERM, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
