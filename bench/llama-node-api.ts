// The part of @fugood/llama.node 1.7.15 that InternVL Lens uses, typed. The package ships
// TypeScript sources instead of declarations, and they do not compile under this project's
// strict settings, so the worker loads it with require() and these types. Shapes copied from
// its lib/binding.ts and lib/index.ts.

export type MessagePart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: string;
  content?: string | MessagePart[];
}

export interface LlamaModelOptions {
  model: string;
  n_ctx?: number;
  n_batch?: number;
  n_threads?: number;
  n_gpu_layers?: number;
  lib_variant?: LibVariant;
}

export interface LlamaCompletionOptions {
  messages?: ChatMessage[];
  prompt?: string;
  media_paths?: string | string[];
  jinja?: boolean;
  n_predict?: number;
  temperature?: number;
  stop?: string[];
  preserved_tokens?: string[];
}

export interface LlamaCompletionToken {
  token: string;
  content?: string;
  accumulated_text?: string;
}

export interface LlamaCompletionResult {
  text: string;
  content?: string;
  tokens_predicted: number;
  tokens_evaluated: number;
  truncated: boolean;
  context_full: boolean;
  interrupted: boolean;
  timings: {
    prompt_n: number;
    prompt_ms: number;
    prompt_per_token_ms: number;
    prompt_per_second: number;
    predicted_n: number;
    predicted_ms: number;
    predicted_per_token_ms: number;
    predicted_per_second: number;
  };
}

export interface TokenizeResult {
  tokens: Int32Array;
  has_media: boolean;
}

export interface ModelInfo {
  desc: string;
  nEmbd: number;
  nParams: number;
  size: number;
  metadata: Record<string, unknown>;
}

export interface FormattedChat {
  /** The prompt, with `<__media__>` where each image goes. */
  prompt: string;
  media_paths?: string[];
}

export interface BackendDeviceInfo {
  backend: string;
  /** `cpu`, `gpu`, `igpu`, `accel` … */
  type: string;
  deviceName: string;
  maxMemorySize: number;
}

export type LibVariant = 'default' | 'vulkan' | 'cuda';

export interface LlamaContext {
  getModelInfo(): ModelInfo;
  getUsedDevices(): string[];
  getFormattedChat(messages: ChatMessage[], template?: string, params?: { jinja?: boolean }): FormattedChat;
  completion(options: LlamaCompletionOptions, callback?: (token: LlamaCompletionToken) => void): Promise<LlamaCompletionResult>;
  stopCompletion(): void;
  tokenize(text: string, options?: { media_paths?: string[] }): Promise<TokenizeResult>;
  initMultimodal(options: { path: string; use_gpu?: boolean }): Promise<boolean>;
  getMultimodalSupport(): Promise<{ vision: boolean; audio: boolean }>;
  release(): Promise<void>;
}

export interface LlamaNode {
  loadModel(options: LlamaModelOptions, onProgress?: (progress: number) => void): Promise<LlamaContext>;
  toggleNativeLog(enable: boolean): Promise<void>;
  isLibVariantAvailable(variant: LibVariant): Promise<boolean>;
  getBackendDevicesInfo(variant?: LibVariant): Promise<BackendDeviceInfo[]>;
}

/** Loads the native binding. Only the worker process may call this. */
export function loadLlamaNode(): LlamaNode {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@fugood/llama.node') as LlamaNode;
}
