import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long loops of the read model run in slices of a few milliseconds, giving the event
 * loop a turn between them (issue 15, finding 2): scoring thousands of buckets in one
 * synchronous pass held /livez and ingest behind it for hundreds of milliseconds. The
 * values are the same as one pass's; only when other callbacks may run changes.
 */

/** Work between two turns of the event loop, milliseconds. */
export const SLICE_MS = 4;

/** A loop's clock: `if (slices.due) await slices.turn()` inside it. */
export class Slices {
  private sliceStart = performance.now();

  constructor(readonly sliceMs: number = SLICE_MS) {}

  /** Whether this slice has run `sliceMs`. */
  get due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Lets pending I/O callbacks run (setImmediate comes after the poll phase), then starts a new slice. */
  async turn(): Promise<void> {
    await nextTurn();
    this.sliceStart = performance.now();
  }
}

/** `items.map(f)`, yielding to the event loop every `sliceMs` of work. */
export async function mapInSlices<T, U>(
  items: readonly T[],
  f: (item: T, index: number) => U,
  sliceMs: number = SLICE_MS,
): Promise<U[]> {
  const out: U[] = [];
  const slices = new Slices(sliceMs);
  for (let i = 0; i < items.length; i += 1) {
    out.push(f(items[i] as T, i));
    if (slices.due) await slices.turn();
  }
  return out;
}
