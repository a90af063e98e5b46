import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long loops of the read model run in slices of a few milliseconds, giving the event
 * loop a turn between them (issue 15, finding 2): scoring thousands of buckets in one
 * synchronous pass held /livez and ingest behind it for hundreds of milliseconds. The
 * values are the same as one pass's; only when other callbacks may run changes.
 */

/** Work between two turns of the event loop, milliseconds. */
export const SLICE_MS = 4;

/** `items.map(f)`, yielding to the event loop (setImmediate: after pending I/O) every `sliceMs` of work. */
export async function mapInSlices<T, U>(
  items: readonly T[],
  f: (item: T, index: number) => U,
  sliceMs: number = SLICE_MS,
): Promise<U[]> {
  const out: U[] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < items.length; i += 1) {
    out.push(f(items[i] as T, i));
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return out;
}
