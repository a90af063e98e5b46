import type { QuantileSketch } from './sketch.ts';

/**
 * Taking one event back out of an accumulator (a correction or a retraction): every
 * accumulator is additive (sums, counts and sketch bucket counts, see flatten.ts), so
 * subtracting what adding the event contributed is exact. The caller builds that
 * contribution by adding the event to an empty accumulator.
 *
 * Counts come back exactly. A float sum (seconds, sentiment) can keep a rounding residue
 * of a few ulps after `a + b − b`; a residue under a billionth of the numbers involved is
 * snapped to 0 so an emptied window reads as empty, not as 1e-17.
 */

const isSketch = (v: unknown): v is QuantileSketch =>
  typeof v === 'object' &&
  v !== null &&
  (v as QuantileSketch).bins instanceof Map &&
  typeof (v as QuantileSketch).count === 'number';

const minus = (a: number, b: number): number => {
  const d = a - b;
  return Math.abs(d) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) ? 0 : d;
};

/** `acc −= part`, in place, field by field; `part` has the shape of `acc`. Returns `acc`. */
export function subtractAccumulator<A extends object>(acc: A, part: A): A {
  const target = acc as Record<string, unknown>;
  for (const [name, value] of Object.entries(part)) {
    const current = target[name];
    if (typeof value === 'number') {
      if (typeof current !== 'number') throw new Error(`cannot subtract field ${name}: not a number in the accumulator`);
      target[name] = minus(current, value);
    } else if (isSketch(value)) {
      if (!isSketch(current)) throw new Error(`cannot subtract sketch ${name}: not a sketch in the accumulator`);
      subtractSketch(current, value);
    } else if (typeof value === 'object' && value !== null) {
      if (typeof current !== 'object' || current === null)
        throw new Error(`cannot subtract ${name}: not an object in the accumulator`);
      subtractAccumulator(current, value);
    }
  }
  return acc;
}

/** Bucket counts minus bucket counts; an emptied bucket is dropped (a stored sketch has no zero buckets). */
export function subtractSketch(sketch: QuantileSketch, part: QuantileSketch): QuantileSketch {
  for (const [key, n] of part.bins) {
    const left = (sketch.bins.get(key) ?? 0) - n;
    if (left === 0) sketch.bins.delete(key);
    else sketch.bins.set(key, left);
  }
  sketch.count -= part.count;
  return sketch;
}
