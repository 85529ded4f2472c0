// The one interface every inference engine implements (local worker today, remote server next).
// Nothing here knows about VS Code, so the CLI and tests can drive engines directly.
import type { ChatStats } from '../protocol/worker';

export type { ChatStats };

export interface ChatImage {
  /** Absolute path of the image file as it should be shown to the model. */
  path: string;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
  images: ChatImage[];
}

export interface ChatOptions {
  maxTokens: number;
  temperature: number;
}

export interface ChatOutcome {
  text: string;
  stats: ChatStats;
}

export type EngineState =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'ready'; modelName: string; vision: boolean }
  | { kind: 'busy'; modelName: string }
  | { kind: 'error'; message: string };

export interface Engine {
  /** Streams the answer to the last user turn through `onToken`; resolves with the full text. */
  chat(turns: ChatTurn[], options: ChatOptions, onToken: (text: string) => void, signal?: AbortSignal): Promise<ChatOutcome>;
  unload(): Promise<void>;
  readonly state: EngineState;
  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void };
  dispose(): Promise<void>;
}
