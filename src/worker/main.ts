// The inference child process. It alone loads the native llama.cpp library, so that an abort
// inside native code (a malformed GGUF trips a GGML_ASSERT) takes down this process, not the
// editor. It speaks JSON-RPC over the IPC channel: stdout/stderr carry native logs.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type ChatMessage, type LlamaContext, loadLlamaNode, type LlamaNode, type MessagePart } from './llama-node-api';
import { chooseLibVariant } from './hardware';
import { TokenBatcher } from './tokenBatcher';
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
  type HardwareDevice,
  type HardwareResult,
  type LibVariant,
  LoadParams,
  type LoadResult,
  type LogNotification,
  type ProgressNotification,
  type TokenNotification,
  WORKER_ERROR_CODE,
  type WorkerChatMessage,
  type WorkerErrorKind,
  WorkerMethods,
} from '../protocol/worker';
import { parseMessage, ProtocolError } from '../protocol/validate';
import { GROUNDING_SPECIAL_TOKENS } from '../grounding/tokens';
import { Settings } from '../config';

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
  libVariant: LibVariant;
  devices: string[];
  notice: string | null;
  /**
   * Exact token counts of image lists (keyed by each file's path, size and mtime): counting
   * decodes and tiles the images, so counts come from earlier counts or completions when known.
   */
  imageTokens: Map<string, number>;
  templateTokens?: number;
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

function progress(value: number): void {
  void connection.sendNotification(WorkerMethods.progress, { progress: Math.min(1, Math.max(0, value)) } satisfies ProgressNotification);
}

/** Loads the model on the chosen build; if a GPU build fails, falls back to the CPU with a notice. */
async function loadContext(binding: LlamaNode, params: LoadParams): Promise<{ context: LlamaContext; libVariant: LibVariant; notice: string | null }> {
  const choice = await chooseLibVariant(binding, params.gpuLayers);
  log('info', `llama.cpp build: ${choice.variant} (${choice.reason})`);
  const options = {
    model: params.modelPath,
    n_ctx: params.contextSize,
    ...(params.threads > 0 ? { n_threads: params.threads } : {}),
  };
  const gpuLayers = params.gpuLayers < 0 ? 999 : params.gpuLayers;
  try {
    return { context: await binding.loadModel({ ...options, n_gpu_layers: gpuLayers, lib_variant: choice.variant }, progress), libVariant: choice.variant, notice: null };
  } catch (err) {
    if (gpuLayers === 0) throw err;
    const notice = `The GPU could not be used (${describe(err)}); running on the CPU, which is slower. Set ${Settings.gpuLayers} to 0 to skip the GPU.`;
    log('warn', notice);
    progress(0);
    return { context: await binding.loadModel({ ...options, n_gpu_layers: 0, lib_variant: 'default' }, progress), libVariant: 'default', notice };
  }
}

async function load(params: LoadParams): Promise<Loaded> {
  const binding = loadLlamaNode();
  progress(0);
  const { context, libVariant, notice } = await loadContext(binding, params);
  let vision = false;
  if (params.mmprojPath) {
    try {
      vision = await context.initMultimodal({ path: params.mmprojPath, use_gpu: params.gpuLayers !== 0 && notice === null });
    } catch (err) {
      await context.release();
      fail('load-failed', `Could not load the vision projector ${params.mmprojPath}: ${describe(err)}. ` +
        `Check that it is the mmproj file that belongs to this model (${Settings.mmprojPath}).`);
    }
  }
  progress(1);
  const metadata = context.getModelInfo().metadata;
  const name = metadata?.['general.name'];
  const modelName = typeof name === 'string' && name ? name : basename(params.modelPath);
  let devices: string[] = [];
  try {
    devices = context.getUsedDevices();
  } catch {
    // Older builds lack it; the device list is diagnostics only.
  }
  return { params, context, vision, modelName, libVariant, devices, notice, imageTokens: new Map() };
}

function sameParams(a: LoadParams, b: LoadParams): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function loadResult(l: Loaded, loadMs: number): LoadResult {
  return { modelName: l.modelName, vision: l.vision, contextSize: l.params.contextSize, loadMs, libVariant: l.libVariant, devices: l.devices, notice: l.notice };
}

async function ensureLoaded(params: LoadParams): Promise<LoadResult> {
  const start = performance.now();
  if (loaded && sameParams(loaded.params, params)) return loadResult(loaded, 0);
  await release();
  try {
    loaded = await load(params);
  } catch (err) {
    if (err instanceof ResponseError) throw err;
    fail('load-failed', `Could not load the model ${params.modelPath}: ${describe(err)}`);
  }
  const loadMs = performance.now() - start;
  log('info', `loaded ${loaded.modelName} (vision: ${loaded.vision}, build: ${loaded.libVariant}, devices: ${loaded.devices.join(', ') || '?'}) in ${loadMs.toFixed(0)} ms`);
  return loadResult(loaded, loadMs);
}

async function release(): Promise<void> {
  const current = loaded;
  loaded = null;
  if (current) await current.context.release();
}

const MEDIA_MARKER = '<__media__>';

function toBindingMessages(messages: WorkerChatMessage[]): ChatMessage[] {
  return messages.map((m): ChatMessage => {
    if (m.images.length === 0) return { role: m.role, content: m.text };
    // Several images in one turn are numbered as InternVL was trained to see them:
    // "Image-1: <image>\nImage-2: <image>\n<question>". The markers are placed in the text; the
    // files go to the completion in the same order (media_paths).
    if (m.images.length > 1) return { role: m.role, content: `${m.images.map((_, i) => `Image-${i + 1}: ${MEDIA_MARKER}`).join('\n')}\n${m.text}` };
    return {
      role: m.role,
      content: [
        ...m.images.map((path): MessagePart => ({ type: 'image_url', image_url: { url: path } })),
        { type: 'text', text: m.text },
      ],
    };
  });
}

/**
 * Longest a streamed token waits to be sent with the ones after it (tokenBatcher.ts): 20 updates a
 * second, smooth to a reader. Each batch costs the host and the webview ~0.2 ms of CPU per message
 * (measured), which on a small machine comes out of llama.cpp's threads. A slow model's tokens
 * (one per 50 ms or more) still go out one by one.
 */
const TOKEN_BATCH_MS = 50;

interface PromptCount {
  /** Identifies the images, to remember their token count once the completion tells it. */
  imagesKey: string;
  /** Text tokens before, between and after the images, when they had to be counted. */
  textSegments: number[] | null;
}

async function countTokens(ctx: LlamaContext, text: string): Promise<number> {
  return text ? (await ctx.tokenize(text)).tokens.length : 0;
}

/** Text tokens of the formatted prompt, per stretch between images (formatting costs ~15 ms). */
async function countTextSegments(ctx: LlamaContext, messages: ChatMessage[]): Promise<number[]> {
  const formatted = ctx.getFormattedChat(messages, undefined, { jinja: true });
  const counts: number[] = [];
  for (const segment of formatted.prompt.split(MEDIA_MARKER)) counts.push(await countTokens(ctx, segment));
  return counts;
}

/** Identifies an ordered list of image files, each by path, size and mtime. */
async function imagesKey(paths: string[]): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) {
    try {
      const s = await stat(path);
      parts.push(`${path}\0${s.size}\0${s.mtimeMs}`);
    } catch {
      fail('bad-request', `The image ${path} does not exist or cannot be read.`);
    }
  }
  return parts.join('\n');
}

/** Exact token count of the images (the binding decodes and tiles each one it has not counted). */
async function countImageTokens(current: Loaded, paths: string[], key: string): Promise<number> {
  let n = current.imageTokens.get(key);
  if (n === undefined) {
    n = 0;
    for (const path of paths) {
      const one = await imagesKey([path]);
      let count = current.imageTokens.get(one);
      if (count === undefined) {
        count = (await current.context.tokenize(MEDIA_MARKER, { media_paths: [path] })).tokens.length;
        current.imageTokens.set(one, count);
      }
      n += count;
    }
    current.imageTokens.set(key, n);
  }
  return n;
}

/** Tokens the chat template adds around messages (system prompt, role markers), measured once per model. */
async function templateTokens(current: Loaded): Promise<number> {
  current.templateTokens ??= await countTokens(current.context, current.context.getFormattedChat([{ role: 'user', content: '' }], undefined, { jinja: true }).prompt);
  return current.templateTokens;
}

/** Per message beyond the first: `<|im_start|>role\n … <|im_end|>\n` and the like. */
const TOKENS_PER_MESSAGE = 8;

/**
 * Checks that the turn fits the context before completing: a completion that runs out of
 * context fails, and a failed completion poisons the binding's context (llama-node-notes.md).
 * First a bound that costs nothing on the way to the first token (a token covers at least one
 * byte of text; images by their most tiles, or their exact count when known); only a turn near
 * the limit is formatted and tokenized exactly.
 */
async function checkFits(current: Loaded, params: ChatParams, messages: ChatMessage[], images: string[]): Promise<PromptCount> {
  const key = await imagesKey(images);
  const nCtx = current.params.contextSize;
  const known = current.imageTokens.get(key);
  const imageBound = known ?? (current.params.maxImageTokens === null ? null : current.params.maxImageTokens * images.length);
  if (imageBound !== null) {
    const textBound =
      (await templateTokens(current)) +
      TOKENS_PER_MESSAGE * params.messages.length +
      params.messages.reduce((n, m) => n + Buffer.byteLength(m.text, 'utf8'), 0);
    if (textBound + imageBound < nCtx) return { imagesKey: key, textSegments: null };
  }
  const textSegments = await countTextSegments(current.context, messages);
  const text = textSegments.reduce((a, b) => a + b, 0);
  const imageTokens = known ?? (await countImageTokens(current, images, key));
  const needed = text + imageTokens;
  if (needed >= nCtx) {
    const imagePart = images.length ? ` (${imageTokens} of them for ${images.length === 1 ? 'the image' : `${images.length} images`})` : '';
    fail(
      'context-overflow',
      `This turn needs ${needed} tokens${imagePart}, but the context holds ${nCtx}: ` +
        `${images.length ? 'use a smaller image (fewer tiles), ' : ''}start a new chat, or raise ${Settings.contextSize}.`,
    );
  }
  return { imagesKey: key, textSegments };
}

async function chat(params: ChatParams, token: CancellationToken): Promise<ChatResult> {
  const current = loaded;
  if (!current) fail('no-model', 'No model is loaded.');
  const images = params.messages.flatMap((m) => m.images);
  if (!current.vision && images.length > 0) {
    fail('no-vision', `This model cannot see images — add its mmproj file (the vision projector GGUF published with the model) in ${Settings.mmprojPath}.`);
  }
  const start = performance.now();
  const messages = toBindingMessages(params.messages);
  const count = await checkFits(current, params, messages, images);
  let firstTokenAt: number | null = null;
  let streamed = '';
  const stop = token.onCancellationRequested(() => current.context.stopCompletion());
  // After a stop the binding may still deliver a few tokens: they are not part of the answer.
  // Each message says how many tokens it holds, so the host can show a live rate.
  const batcher = new TokenBatcher((text, tokens) => {
    if (!token.isCancellationRequested) void connection.sendNotification(WorkerMethods.token, { chatId: params.chatId, text, tokens } satisfies TokenNotification);
  }, TOKEN_BATCH_MS);
  try {
    if (token.isCancellationRequested) current.context.stopCompletion();
    const result = await current.context.completion(
      {
        messages,
        // Every image of the conversation, in the order of its marker in the prompt.
        ...(images.length > 0 ? { media_paths: images } : {}),
        jinja: true,
        n_predict: params.maxTokens,
        temperature: params.temperature,
        // Grounding tags are control tokens; without this llama.cpp drops them from the text.
        preserved_tokens: [...GROUNDING_SPECIAL_TOKENS],
      },
      (t) => {
        if (!t.token) return;
        streamed += t.token;
        firstTokenAt ??= performance.now();
        batcher.push(t.token);
      },
    );
    // The binding can resolve before its last token callbacks have run: let them arrive, then
    // send whatever the stream still lacks, so the streamed text always equals the final text.
    const deadline = performance.now() + 1000;
    while (streamed.length < result.text.length && performance.now() < deadline) {
      await new Promise((r) => setImmediate(r));
    }
    batcher.flush();
    if (streamed.length < result.text.length && result.text.startsWith(streamed)) batcher.sendExtra(result.text.slice(streamed.length), Math.max(0, result.tokens_predicted - batcher.sentTokens));
    const t = result.timings;
    // tokens_evaluated counts the whole prompt plus the generated tokens.
    const contextTokens = Math.max(t.prompt_n, result.tokens_evaluated - result.tokens_predicted);
    // Counted now, after the answer, unless the fit check had to: it is off the first token's path.
    // Stats only: a failure here must not count as a failed completion (that rebuilds the context).
    const textSegments =
      count.textSegments ??
      (await countTextSegments(current.context, messages).catch((e: unknown) => {
        log('warn', `could not count the prompt's text tokens for the stats: ${describe(e)}`);
        return [contextTokens];
      }));
    const textTokens = textSegments.reduce((a, b) => a + b, 0);
    const imageTokens = images.length ? Math.max(0, contextTokens - textTokens) : 0;
    const reusedTokens = contextTokens - t.prompt_n;
    // The last image ends where the last text segment begins: reuse beyond it means no image was encoded.
    const imagesEnd = contextTokens - (textSegments.at(-1) ?? 0);
    const imagesEncoded = imageTokens > 0 && reusedTokens < imagesEnd;
    // Exact now: the next turn about the same images needs no counting.
    if (images.length && !result.interrupted) current.imageTokens.set(count.imagesKey, imageTokens);
    return {
      text: result.text,
      stats: {
        promptTokens: t.prompt_n,
        contextTokens,
        imageTokens,
        reusedTokens,
        kvReused: reusedTokens > 0,
        imagesEncoded,
        promptMs: t.prompt_ms,
        imageEncodeMs: imagesEncoded ? t.prompt_ms : 0,
        generatedTokens: t.predicted_n,
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
    batcher.cancel();
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

/** Devices of every installed build, so the host can size a model download to them. */
async function hardware(): Promise<HardwareResult> {
  const binding = loadLlamaNode();
  const devices: HardwareDevice[] = [];
  for (const variant of ['default', 'cuda', 'vulkan'] as const) {
    if (variant !== 'default' && !(await binding.isLibVariantAvailable(variant).catch(() => false))) continue;
    const found = await binding.getBackendDevicesInfo(variant).catch((err: unknown) => {
      log('warn', `listing ${variant} devices failed: ${describe(err)}`);
      return [];
    });
    for (const d of found) devices.push({ variant, backend: d.backend, type: d.type, deviceName: d.deviceName, maxMemorySize: Number(d.maxMemorySize) || 0 });
  }
  return { devices };
}
connection.onRequest(WorkerMethods.hardware, () => serialised(hardware));

// The host going away (editor closed or crashed) ends the worker.
process.on('disconnect', () => process.exit(0));
connection.listen();
log('info', `worker ${process.pid} ready (node ${process.version}, ${process.platform}-${process.arch})`);
