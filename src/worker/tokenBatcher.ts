// How the worker streams tokens to the host: the first at once, later ones in batches.
//
// One IPC message per token costs the host and the worker more CPU than a fast model takes to make
// a token, so tokens after the first are gathered for up to `intervalMs`. A batch goes out from the
// token callback that finds it due, while the worker's thread is awake anyway: a timer of its own
// would wake the thread once more per batch, and on a small machine each wake-up pre-empts a
// llama.cpp thread that the others then wait for (measured: decode ~2 % slower with a timer per
// batch). A timer runs only as the fallback for a stream that pauses, half an interval late.

export interface BatchClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: BatchClock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class TokenBatcher {
  private text = '';
  private tokens = 0;
  private lastSentAt: number | null = null;
  private timer: unknown = null;
  /** Tokens handed to `send` so far. */
  sentTokens = 0;

  constructor(
    private readonly send: (text: string, tokens: number) => void,
    private readonly intervalMs: number,
    private readonly clock: BatchClock = systemClock,
  ) {}

  /** One generated token (its text). */
  push(token: string): void {
    const now = this.clock.now();
    if (this.lastSentAt === null) {
      this.lastSentAt = now;
      this.emit(token, 1);
      return;
    }
    this.text += token;
    this.tokens++;
    const waited = now - this.lastSentAt;
    if (waited >= this.intervalMs) this.flush();
    else this.timer ??= this.clock.setTimeout(() => this.flush(), this.intervalMs - waited + this.intervalMs / 2);
  }

  /** Sends what is gathered (at the end of the answer, or when the fallback timer fires). */
  flush(): void {
    this.cancel();
    this.lastSentAt = this.clock.now();
    if (!this.text) return;
    const { text, tokens } = this;
    this.text = '';
    this.tokens = 0;
    this.emit(text, tokens);
  }

  /** Sends text the stream lacked, counted as `tokens`. */
  sendExtra(text: string, tokens: number): void {
    this.emit(text, tokens);
  }

  /** Drops the fallback timer (the answer ended or failed). */
  cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private emit(text: string, tokens: number): void {
    this.sentTokens += tokens;
    this.send(text, tokens);
  }
}
