// Messages between the extension host and the inference worker (JSON-RPC over the IPC channel).
// Both sides validate what they receive: the worker runs native code that can misbehave, and
// the host must never trust shapes it did not check.
import * as v from 'valibot';

export const LoadParams = v.object({
  modelPath: v.pipe(v.string(), v.minLength(1)),
  mmprojPath: v.nullable(v.pipe(v.string(), v.minLength(1))),
  contextSize: v.pipe(v.number(), v.integer(), v.minValue(256)),
  gpuLayers: v.pipe(v.number(), v.integer(), v.minValue(-1)),
  threads: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type LoadParams = v.InferOutput<typeof LoadParams>;

export const LoadResult = v.object({
  modelName: v.string(),
  vision: v.boolean(),
  contextSize: v.number(),
  loadMs: v.number(),
});
export type LoadResult = v.InferOutput<typeof LoadResult>;

export const WorkerChatMessage = v.object({
  role: v.picklist(['system', 'user', 'assistant']),
  text: v.string(),
  /** Absolute paths of image files, in the order the model is shown them. */
  images: v.array(v.pipe(v.string(), v.minLength(1))),
});
export type WorkerChatMessage = v.InferOutput<typeof WorkerChatMessage>;

export const ChatParams = v.object({
  chatId: v.pipe(v.string(), v.minLength(1)),
  messages: v.pipe(v.array(WorkerChatMessage), v.minLength(1)),
  maxTokens: v.pipe(v.number(), v.integer()),
  temperature: v.pipe(v.number(), v.minValue(0)),
});
export type ChatParams = v.InferOutput<typeof ChatParams>;

export const ChatStats = v.object({
  promptTokens: v.number(),
  generatedTokens: v.number(),
  promptMs: v.number(),
  timeToFirstTokenMs: v.nullable(v.number()),
  tokensPerSecond: v.number(),
  interrupted: v.boolean(),
  contextFull: v.boolean(),
});
export type ChatStats = v.InferOutput<typeof ChatStats>;

export const ChatResult = v.object({ text: v.string(), stats: ChatStats });
export type ChatResult = v.InferOutput<typeof ChatResult>;

export const TokenNotification = v.object({ chatId: v.string(), text: v.string() });
export type TokenNotification = v.InferOutput<typeof TokenNotification>;

export const LogNotification = v.object({
  level: v.picklist(['info', 'warn', 'error']),
  message: v.string(),
});
export type LogNotification = v.InferOutput<typeof LogNotification>;

/** Error kinds the worker reports in a JSON-RPC error's `data.kind`. */
export const WorkerErrorKind = v.picklist(['load-failed', 'no-vision', 'no-model', 'completion-failed', 'bad-request']);
export type WorkerErrorKind = v.InferOutput<typeof WorkerErrorKind>;
export const WorkerErrorData = v.object({ kind: WorkerErrorKind });

export const WorkerMethods = {
  load: 'internvlLens/load',
  unload: 'internvlLens/unload',
  chat: 'internvlLens/chat',
  token: 'internvlLens/token',
  log: 'internvlLens/log',
} as const;

/** JSON-RPC error code used for every worker-side failure; the kind says which. */
export const WORKER_ERROR_CODE = -32001;
