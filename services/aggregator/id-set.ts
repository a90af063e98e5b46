/**
 * The eventId hashes a window counts (see engine.ts eventIdHash), compact once written.
 *
 * While a window is open its ids are in a `Set` (fast to add to). When it is written,
 * `compact()` moves them into a sorted array of numbers, which V8 stores unboxed: 8 bytes
 * an id instead of the ≈ 50 a `Set` entry with its boxed number takes, for all the time
 * the window still accepts late events (the allowed lateness, by default five minutes of
 * every event's id). Late additions go to a `Set` beside the array until the next
 * `compact()`; no `Set` is kept while there are none. A few recent ids (up to SMALL, the
 * usual case for a window at many keys) are a plain array instead: an empty `Set` alone
 * costs about 160 bytes.
 */
const SMALL = 16;
/** The sorted ids of a window with none: shared, never changed (`delete` changes only an array holding the id). */
const NO_IDS: number[] = [];

export class IdSet {
  private sorted: number[] = NO_IDS;
  private recent: number[] | Set<number> | undefined;

  /** Ids given here (a window read back from the store) start compact. */
  constructor(ids: Iterable<number> = []) {
    for (const id of ids) this.add(id);
    this.compact();
  }

  get size(): number {
    const recent = this.recent;
    return this.sorted.length + (recent === undefined ? 0 : Array.isArray(recent) ? recent.length : recent.size);
  }

  has(id: number): boolean {
    const recent = this.recent;
    if (recent !== undefined && (Array.isArray(recent) ? recent.includes(id) : recent.has(id))) return true;
    const sorted = this.sorted;
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = sorted[mid] as number;
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Adds an id not yet in the set (callers check `has` first). */
  add(id: number): void {
    const recent = this.recent;
    if (recent === undefined) this.recent = [id];
    else if (!Array.isArray(recent)) recent.add(id);
    else if (recent.includes(id)) return;
    else if (recent.length < SMALL) recent.push(id);
    else this.recent = new Set([...recent, id]);
  }

  /** Removes an id (a corrected or retracted event leaving its window). Rare: the sorted array is spliced. */
  delete(id: number): boolean {
    const recent = this.recent;
    if (Array.isArray(recent)) {
      const at = recent.indexOf(id);
      if (at >= 0) {
        recent.splice(at, 1);
        if (recent.length === 0) this.recent = undefined;
        return true;
      }
    } else if (recent?.delete(id)) {
      if (recent.size === 0) this.recent = undefined;
      return true;
    }
    const sorted = this.sorted;
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = sorted[mid] as number;
      if (v === id) {
        sorted.splice(mid, 1);
        return true;
      }
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Moves the recent ids into the sorted array: the recent ones sorted, then merged, so a
   * window written often (checkpoints) costs its new ids, not all of them, in sorting.
   */
  compact(): void {
    const recent = this.recent;
    if (!recent) return;
    const fresh = new Array<number>(Array.isArray(recent) ? recent.length : recent.size);
    let r = 0;
    for (const id of recent) fresh[r++] = id;
    fresh.sort((a, b) => a - b);
    // Written one by one into an array of the exact length, the hashes (beyond small
    // integers) make V8 store it as unboxed doubles with no spare capacity; a spread or
    // concat would keep them boxed, three times the memory.
    const old = this.sorted;
    const merged = new Array<number>(old.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < fresh.length) {
      const a = old[i] as number;
      const b = fresh[j] as number;
      if (a <= b) {
        merged[k++] = a;
        i += 1;
      } else {
        merged[k++] = b;
        j += 1;
      }
    }
    while (i < old.length) merged[k++] = old[i++] as number;
    while (j < fresh.length) merged[k++] = fresh[j++] as number;
    this.sorted = merged;
    this.recent = undefined;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    yield* this.sorted;
    if (this.recent) yield* this.recent;
  }
}
