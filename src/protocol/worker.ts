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
  /**
   * Most tokens one image can take with this mmproj (from its GGUF metadata), when known: lets
   * the worker skip the costly exact count (it decodes and tiles the image) when a turn fits anyway.
   */
  maxImageTokens: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1))),
});
export type LoadParams = v.InferOutput<typeof LoadParams>;

export const LibVariant = v.picklist(['default', 'vulkan', 'cuda']);
export type LibVariant = v.InferOutput<typeof LibVariant>;

export const LoadResult = v.object({
  modelName: v.string(),
  vision: v.boolean(),
  contextSize: v.number(),
  loadMs: v.number(),
  /** The llama.cpp build that runs the model (`default` is CPU, or Metal on macOS). */
  libVariant: LibVariant,
  /** Devices the model runs on, e.g. `CUDA0`, `CPU`. */
  devices: v.array(v.string()),
  /** Something the user should know about the load, e.g. that the GPU failed and the CPU is used. */
  notice: v.nullable(v.string()),
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
  /** Prompt tokens evaluated for this turn (the rest came from the KV cache). */
  promptTokens: v.number(),
  /** The whole prompt in tokens, images included. */
  contextTokens: v.number(),
  /** Of `contextTokens`, the images' share. */
  imageTokens: v.number(),
  /** Prompt tokens reused from the KV cache of the previous turn. */
  reusedTokens: v.number(),
  kvReused: v.boolean(),
  /** Whether any image was encoded for this turn (false: a follow-up reused the encoded image). */
  imagesEncoded: v.boolean(),
  /**
   * Time spent evaluating the prompt, image encoding included: llama.cpp reports no separate
   * image-encode time, so `imageEncodeMs` is this value when images were encoded, else 0.
   */
  promptMs: v.number(),
  imageEncodeMs: v.number(),
  generatedTokens: v.number(),
  timeToFirstTokenMs: v.nullable(v.number()),
  tokensPerSecond: v.number(),
  interrupted: v.boolean(),
  contextFull: v.boolean(),
});
export type ChatStats = v.InferOutput<typeof ChatStats>;

export const ChatResult = v.object({ text: v.string(), stats: ChatStats });
export type ChatResult = v.InferOutput<typeof ChatResult>;

/** Streamed answer text; `tokens`: how many model tokens it holds (batches carry several). */
export const TokenNotification = v.object({ chatId: v.string(), text: v.string(), tokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) });
export type TokenNotification = v.InferOutput<typeof TokenNotification>;

/** Model load progress, 0..1. */
export const ProgressNotification = v.object({ progress: v.pipe(v.number(), v.minValue(0), v.maxValue(1)) });
export type ProgressNotification = v.InferOutput<typeof ProgressNotification>;

export const LogNotification = v.object({
  level: v.picklist(['info', 'warn', 'error']),
  message: v.string(),
});
export type LogNotification = v.InferOutput<typeof LogNotification>;

/** A compute device llama.cpp sees (getBackendDevicesInfo), for sizing the model to download. */
export const HardwareDevice = v.object({
  /** The build that sees it: `default` (CPU, or Metal on macOS), `cuda`, `vulkan`. */
  variant: LibVariant,
  backend: v.string(),
  /** `cpu`, `gpu`, `igpu`, `accel` … */
  type: v.string(),
  deviceName: v.string(),
  maxMemorySize: v.pipe(v.number(), v.minValue(0)),
});
export type HardwareDevice = v.InferOutput<typeof HardwareDevice>;

export const HardwareResult = v.object({ devices: v.array(HardwareDevice) });
export type HardwareResult = v.InferOutput<typeof HardwareResult>;

/** Error kinds the worker reports in a JSON-RPC error's `data.kind`. */
export const WorkerErrorKind = v.picklist(['load-failed', 'no-vision', 'no-model', 'completion-failed', 'context-overflow', 'bad-request']);
export type WorkerErrorKind = v.InferOutput<typeof WorkerErrorKind>;
export const WorkerErrorData = v.object({ kind: WorkerErrorKind });

export const WorkerMethods = {
  load: 'internvlLens/load',
  unload: 'internvlLens/unload',
  chat: 'internvlLens/chat',
  token: 'internvlLens/token',
  progress: 'internvlLens/progress',
  log: 'internvlLens/log',
  /** The devices each installed llama.cpp build sees; needs no model. */
  hardware: 'internvlLens/hardware',
} as const;

/** JSON-RPC error code used for every worker-side failure; the kind says which. */
export const WORKER_ERROR_CODE = -32001;
