// The one interface every inference engine implements (the supervised local llama-server, or a
// remote server). Nothing here knows about VS Code, so the CLI and tests can drive engines directly.

/**
 * How one answer went. `null` is an engine saying it cannot know (a remote server reports cache
 * reuse only when it says so; image-encode time is never reported separately).
 */
export interface ChatStats {
  /** Prompt tokens evaluated for this turn (the rest came from the KV cache). */
  promptTokens: number | null;
  /** The whole prompt in tokens, images included. */
  contextTokens: number | null;
  /** Of `contextTokens`, the images' share (on InternVL's reference grid). */
  imageTokens: number;
  /** Prompt tokens reused from the KV cache (llama-server's `cache_n`). */
  reusedTokens: number | null;
  kvReused: boolean | null;
  /** Whether any image was encoded for this turn (false: a follow-up reused the encoded images). */
  imagesEncoded: boolean | null;
  /** Time spent evaluating the prompt, image encoding included. */
  promptMs: number | null;
  /** llama.cpp reports no separate image-encode time: `promptMs` when images were encoded, else 0. */
  imageEncodeMs: number | null;
  generatedTokens: number;
  timeToFirstTokenMs: number | null;
  tokensPerSecond: number;
  interrupted: boolean;
  contextFull: boolean;
}

export interface ChatImage {
  /** Absolute path of the image file as it should be shown to the model. */
  path: string;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
  images: ChatImage[];
  /**
   * The images are a clip's frames (src/video/): labelled `Frame1: <image>\nFrame2: <image>\n…`
   * before the question, as InternVL's video example writes them, one 448-px tile each.
   */
  frames?: boolean;
}

export interface ChatOptions {
  maxTokens: number;
  temperature: number;
}

export interface ChatOutcome {
  text: string;
  stats: ChatStats;
}

export interface LoadedModel {
  modelName: string;
  vision: boolean;
  /** Where it runs, in words (e.g. "cuda: CUDA0", "default: CPU"). */
  backend: string;
  /** Something the user should be told about the load (e.g. GPU failed, CPU used), or null. */
  notice: string | null;
}

export type EngineState =
  | { kind: 'idle' }
  | { kind: 'loading'; progress: number | null }
  | ({ kind: 'ready' } & LoadedModel)
  /** Answering; `queued` more requests wait their turn. */
  | ({ kind: 'busy'; queued: number } & LoadedModel)
  | { kind: 'error'; message: string };

/**
 * Receives streamed answer text. `tokens` is how many model tokens `text` holds, when the engine
 * knows; without it a piece is roughly one token.
 */
export type TokenListener = (text: string, tokens?: number) => void;

export interface Engine {
  /**
   * Streams the answer to the last user turn through `onToken`; resolves with the full text.
   * Requests run one at a time, in order; one aborted while it waits resolves as interrupted
   * without running.
   */
  chat(turns: ChatTurn[], options: ChatOptions, onToken: TokenListener, signal?: AbortSignal): Promise<ChatOutcome>;
  /** Loads the configured model now (chat loads it on first use anyway). */
  load(): Promise<LoadedModel>;
  unload(): Promise<void>;
  /** Ends whatever runs the model and loads it afresh. */
  restart(): Promise<LoadedModel>;
  readonly state: EngineState;
  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void };
  dispose(): Promise<void>;
}

/** An engine's current state and the listeners told of each change (shared by every engine). */
export class EngineStateEvents {
  private value: EngineState = { kind: 'idle' };
  private readonly listeners = new Set<(state: EngineState) => void>();

  get current(): EngineState {
    return this.value;
  }

  set(state: EngineState): void {
    this.value = state;
    for (const l of this.listeners) l(state);
  }

  on(listener: (state: EngineState) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  clear(): void {
    this.listeners.clear();
  }
}
