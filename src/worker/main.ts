// The inference child process. It alone loads the native llama.cpp library, so that an abort
// inside native code (a malformed GGUF trips a GGML_ASSERT) takes down this process, not the
// editor. It speaks JSON-RPC over the IPC channel: stdout/stderr carry native logs.
import { basename } from 'node:path';
import { type ChatMessage, type LlamaContext, loadLlamaNode, type MessagePart } from './llama-node-api';
import {
  type CancellationToken,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
} from 'vscode-jsonrpc/node';
import {
  ChatParams,
  type ChatResult,
  LoadParams,
  type LoadResult,
  type LogNotification,
  type TokenNotification,
  WORKER_ERROR_CODE,
  type WorkerChatMessage,
  type WorkerErrorKind,
  WorkerMethods,
} from '../protocol/worker';
import { parseMessage, ProtocolError } from '../protocol/validate';
import { GROUNDING_SPECIAL_TOKENS } from '../grounding/tokens';

if (!process.send) {
  console.error('internvl-lens worker must be started with an IPC channel (child_process.fork).');
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

interface Loaded {
  params: LoadParams;
  context: LlamaContext;
  vision: boolean;
  modelName: string;
}
let loaded: Loaded | null = null;
/** Completions run one at a time: the binding's context is not re-entrant. */
let queue: Promise<unknown> = Promise.resolve();

function fail(kind: WorkerErrorKind, message: string): never {
  throw new ResponseError(WORKER_ERROR_CODE, message, { kind });
}

function log(level: LogNotification['level'], message: string): void {
  void connection.sendNotification(WorkerMethods.log, { level, message } satisfies LogNotification);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function load(params: LoadParams): Promise<Loaded> {
  const { loadModel } = loadLlamaNode();
  const context = await loadModel({
    model: params.modelPath,
    n_ctx: params.contextSize,
    n_gpu_layers: params.gpuLayers < 0 ? 99 : params.gpuLayers,
    ...(params.threads > 0 ? { n_threads: params.threads } : {}),
  });
  let vision = false;
  if (params.mmprojPath) {
    try {
      vision = await context.initMultimodal({ path: params.mmprojPath, use_gpu: params.gpuLayers !== 0 });
    } catch (err) {
      await context.release();
      fail('load-failed', `Could not load the vision projector ${params.mmprojPath}: ${describe(err)}. ` +
        'Check that it is the mmproj file that belongs to this model.');
    }
  }
  const metadata = context.getModelInfo().metadata;
  const name = metadata?.['general.name'];
  const modelName = typeof name === 'string' && name ? name : basename(params.modelPath);
  return { params, context, vision, modelName };
}

function sameParams(a: LoadParams, b: LoadParams): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function ensureLoaded(params: LoadParams): Promise<LoadResult> {
  const start = performance.now();
  if (loaded && sameParams(loaded.params, params)) {
    return { modelName: loaded.modelName, vision: loaded.vision, contextSize: params.contextSize, loadMs: 0 };
  }
  await release();
  try {
    loaded = await load(params);
  } catch (err) {
    if (err instanceof ResponseError) throw err;
    fail('load-failed', `Could not load the model ${params.modelPath}: ${describe(err)}`);
  }
  const loadMs = performance.now() - start;
  log('info', `loaded ${loaded.modelName} (vision: ${loaded.vision}) in ${loadMs.toFixed(0)} ms`);
  return { modelName: loaded.modelName, vision: loaded.vision, contextSize: params.contextSize, loadMs };
}

async function release(): Promise<void> {
  const current = loaded;
  loaded = null;
  if (current) await current.context.release();
}

function toBindingMessages(messages: WorkerChatMessage[]): ChatMessage[] {
  return messages.map((m): ChatMessage => {
    if (m.images.length === 0) return { role: m.role, content: m.text };
    return {
      role: m.role,
      content: [
        ...m.images.map((path): MessagePart => ({ type: 'image_url', image_url: { url: path } })),
        { type: 'text', text: m.text },
      ],
    };
  });
}

async function chat(params: ChatParams, token: CancellationToken): Promise<ChatResult> {
  const current = loaded;
  if (!current) fail('no-model', 'No model is loaded.');
  if (!current.vision && params.messages.some((m) => m.images.length > 0)) {
    fail('no-vision', 'This model cannot see images — add its mmproj file (the vision projector GGUF published with the model).');
  }
  const start = performance.now();
  let firstTokenAt: number | null = null;
  let streamed = '';
  const stop = token.onCancellationRequested(() => current.context.stopCompletion());
  try {
    if (token.isCancellationRequested) current.context.stopCompletion();
    const result = await current.context.completion(
      {
        messages: toBindingMessages(params.messages),
        jinja: true,
        n_predict: params.maxTokens,
        temperature: params.temperature,
        // Grounding tags are control tokens; without this llama.cpp drops them from the text.
        preserved_tokens: [...GROUNDING_SPECIAL_TOKENS],
      },
      (t) => {
        if (!t.token) return;
        firstTokenAt ??= performance.now();
        streamed += t.token;
        void connection.sendNotification(WorkerMethods.token, { chatId: params.chatId, text: t.token } satisfies TokenNotification);
      },
    );
    // The binding can resolve before its last token callbacks have run: let them arrive, then
    // send whatever the stream still lacks, so the streamed text always equals the final text.
    const deadline = performance.now() + 1000;
    while (streamed.length < result.text.length && performance.now() < deadline) {
      await new Promise((r) => setImmediate(r));
    }
    if (streamed.length < result.text.length && result.text.startsWith(streamed)) {
      void connection.sendNotification(WorkerMethods.token, { chatId: params.chatId, text: result.text.slice(streamed.length) } satisfies TokenNotification);
    }
    const t = result.timings;
    return {
      text: result.text,
      stats: {
        promptTokens: t.prompt_n,
        generatedTokens: t.predicted_n,
        promptMs: t.prompt_ms,
        timeToFirstTokenMs: firstTokenAt === null ? null : firstTokenAt - start,
        tokensPerSecond: t.predicted_per_second,
        interrupted: result.interrupted,
        contextFull: result.context_full,
      },
    };
  } catch (err) {
    // After a failed completion the binding refuses every later one: rebuild the context.
    const params0 = current.params;
    await release().catch(() => undefined);
    await ensureLoaded(params0).catch((e) => log('error', `reload after failure failed: ${describe(e)}`));
    fail('completion-failed', describe(err));
  } finally {
    stop.dispose();
  }
}

function serialised<T>(run: () => Promise<T>): Promise<T> {
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}

function validated<T>(method: string, schema: Parameters<typeof parseMessage>[1], raw: unknown): T {
  try {
    return parseMessage(method, schema, raw) as T;
  } catch (err) {
    if (err instanceof ProtocolError) fail('bad-request', err.message);
    throw err;
  }
}

connection.onRequest(WorkerMethods.load, (raw: unknown) =>
  serialised(() => ensureLoaded(validated<LoadParams>(WorkerMethods.load, LoadParams, raw))),
);
connection.onRequest(WorkerMethods.unload, () => serialised(release));
connection.onRequest(WorkerMethods.chat, (raw: unknown, token: CancellationToken) =>
  serialised(() => chat(validated<ChatParams>(WorkerMethods.chat, ChatParams, raw), token)),
);

// The host going away (editor closed or crashed) ends the worker.
process.on('disconnect', () => process.exit(0));
connection.listen();
log('info', `worker ${process.pid} ready (node ${process.version}, ${process.platform}-${process.arch})`);
