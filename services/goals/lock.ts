/**
 * Serialises async work per key inside one process: the writes to one entity run one
 * after the other, so "read the current version, compare, append the next" cannot
 * interleave. ClickHouse has no transactions; this lock is what makes a stale write
 * reliably detectable (see docs/goals.md for several goals-service replicas).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running (for tests and diagnostics). */
  get busyKeys(): number {
    return this.tails.size;
  }
}
