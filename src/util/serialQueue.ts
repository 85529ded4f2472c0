/**
 * Runs tasks one after another, in the order they were added: each starts once the one before
 * it has settled, whatever its outcome. A task's own result (or error) goes to whoever added it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private added = 0;
  private started = 0;
  private settled = 0;

  /** Tasks added that have not started yet. */
  get waiting(): number {
    return this.added - this.started;
  }

  /** Tasks added that have not settled yet (the running one included). */
  get pending(): number {
    return this.added - this.settled;
  }

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.added++;
    const start = () => {
      this.started++;
      return task();
    };
    const next = this.tail.then(start, start);
    const done = () => void this.settled++;
    this.tail = next.then(done, done);
    return next;
  }

  /** Resolves once every task added so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
