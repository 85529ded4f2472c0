// The live generation rate of a streaming answer, for the status line ("Generating — 21.4 tok/s").
// The final stats carry the engine's exact figure; this one is measured in the host as tokens
// arrive, so it counts tokens, not messages: an engine that knows how many tokens a piece holds
// says so (the local llama-server streams one per token). A piece without a count (a remote
// server's stream delta) counts as one token, and the rate says it is approximate.

export interface GenerationRateReading {
  tokensPerSecond: number;
  /** Tokens streamed so far. */
  tokens: number;
  /** True once any piece came without a token count. */
  approximate: boolean;
}

/** Fewest milliseconds between two readings: about four updates a second. */
export const RATE_INTERVAL_MS = 250;

export class GenerationRate {
  private firstAt: number | null = null;
  /** Tokens in the first piece: they were made before the clock started, so the rate leaves them out. */
  private firstTokens = 0;
  private tokens = 0;
  private approximate = false;
  private lastReadingAt = -Infinity;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = RATE_INTERVAL_MS,
  ) {}

  /**
   * Records a streamed piece holding `tokens` tokens (undefined: not counted by the engine).
   * Returns a reading when one is due: at least `intervalMs` after the first token and after the
   * last reading, so the rate spans enough tokens to mean something and the view is not flooded.
   */
  add(tokens: number | undefined): GenerationRateReading | null {
    const now = this.now();
    if (tokens === undefined) this.approximate = true;
    const n = tokens ?? 1;
    this.tokens += n;
    if (this.firstAt === null) {
      this.firstAt = now;
      this.firstTokens = n;
      return null;
    }
    const elapsed = now - this.firstAt;
    if (elapsed < this.intervalMs || now - this.lastReadingAt < this.intervalMs) return null;
    this.lastReadingAt = now;
    return { tokensPerSecond: ((this.tokens - this.firstTokens) * 1000) / elapsed, tokens: this.tokens, approximate: this.approximate };
  }
}
