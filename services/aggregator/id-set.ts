/**
 * The eventId hashes a window counts (see engine.ts eventIdHash), compact once written.
 *
 * While a window is open its ids are in a `Set` (fast to add to). When it is written,
 * `compact()` moves them into a sorted Float64Array: 8 bytes an id instead of the ≈ 50 a
 * `Set` entry with its boxed number takes, for all the time the window still accepts late
 * events (the allowed lateness, by default five minutes of every event's id). Late
 * additions go to a small `Set` beside the array until the next `compact()`.
 */
export class IdSet {
  private sorted = new Float64Array(0);
  private recent = new Set<number>();

  /** Ids given here (a window read back from the store) start compact. */
  constructor(ids: Iterable<number> = []) {
    for (const id of ids) this.recent.add(id);
    this.compact();
  }

  get size(): number {
    return this.sorted.length + this.recent.size;
  }

  has(id: number): boolean {
    if (this.recent.has(id)) return true;
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.sorted[mid] as number;
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Adds an id not yet in the set (callers check `has` first). */
  add(id: number): void {
    this.recent.add(id);
  }

  /** Moves the recent ids into the sorted array. */
  compact(): void {
    if (this.recent.size === 0) return;
    const merged = new Float64Array(this.sorted.length + this.recent.size);
    merged.set(this.sorted);
    let i = this.sorted.length;
    for (const id of this.recent) merged[i++] = id;
    merged.sort();
    this.sorted = merged;
    this.recent = new Set();
  }

  *[Symbol.iterator](): IterableIterator<number> {
    yield* this.sorted;
    yield* this.recent;
  }
}
