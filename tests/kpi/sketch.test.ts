import { describe, expect, it } from 'vitest';
import {
  addToSketch,
  bucketKey,
  bucketValue,
  emptySketch,
  mergeSketches,
  type QuantileSketch,
  RELATIVE_ACCURACY,
  sketchFromBuckets,
  sketchQuantile,
  sketchToBuckets,
  ZERO_BUCKET_KEY,
} from '../../services/shared/kpi/sketch.ts';
import { prng } from './records.ts';

const sketchOf = (values: readonly number[]): QuantileSketch => {
  const s = emptySketch();
  for (const v of values) addToSketch(s, v);
  return s;
};

/** The exact value the sketch estimates: sorted[⌊q·(n−1)⌋]. */
const exactQuantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
};

/** 1 % relative error, plus floating-point slack only. */
const withinBound = (estimate: number | null, exact: number) => {
  expect(estimate).not.toBeNull();
  expect(Math.abs((estimate ?? 0) - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * exact * (1 + 1e-9));
};

/** Log-normal latencies from 1 ms to a few seconds, like a real latency tail. */
const latencies = (n: number, seed: number): number[] => {
  const random = prng(seed);
  return Array.from({ length: n }, () => {
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.exp(3.5 + 1.2 * gauss);
  });
};

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

describe('quantile sketch (DDSketch-style, 1 % relative accuracy)', () => {
  it('reads every value back within 1 % of itself', () => {
    for (const v of [1e-5, 0.003, 0.5, 1, 7, 99.99, 100, 12_345.678, 3.6e6, 1e9]) {
      const back = bucketValue(bucketKey(v));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(RELATIVE_ACCURACY * v * (1 + 1e-9));
    }
  });

  it('estimates quantiles within 1 % of the exact sorted-array value sorted[⌊q·(n−1)⌋]', () => {
    const values = latencies(10_000, 42);
    const s = sketchOf(values);
    for (const q of QS) withinBound(sketchQuantile(s, q), exactQuantile(values, q));
  });

  it('takes the lower median of an even count: p50 of 1, 2, 3, 4 is about 2 (rank ⌊0.5·3⌋ = 1)', () => {
    const s = sketchOf([4, 1, 3, 2]);
    withinBound(sketchQuantile(s, 0.5), 2);
    withinBound(sketchQuantile(s, 0), 1);
    withinBound(sketchQuantile(s, 1), 4);
  });

  it('merges exactly: merge(A, B) has the buckets, and so the quantiles, of the sketch of A ∪ B', () => {
    const a = latencies(3_000, 1);
    const b = latencies(500, 2).map((v) => v * 10); // a slower, smaller population
    const merged = mergeSketches(sketchOf(a), sketchOf(b));
    const union = sketchOf([...a, ...b]);
    expect(sketchToBuckets(merged)).toEqual(sketchToBuckets(union));
    expect(merged.count).toBe(3_500);
    for (const q of QS) {
      expect(sketchQuantile(merged, q)).toBe(sketchQuantile(union, q));
      withinBound(sketchQuantile(merged, q), exactQuantile([...a, ...b], q));
    }
  });

  it('does not change its inputs when merging', () => {
    const a = sketchOf([1, 2]);
    const b = sketchOf([3]);
    mergeSketches(a, b);
    expect(a.count).toBe(2);
    expect(b.count).toBe(1);
    expect(sketchToBuckets(a).counts).toEqual([1, 1]);
  });

  it('keeps zeros in their own bucket, read back as exactly 0', () => {
    const s = sketchOf([0, 0, 0, 5]);
    expect(sketchToBuckets(s).keys[0]).toBe(ZERO_BUCKET_KEY);
    expect(sketchQuantile(s, 0.5)).toBe(0); // rank ⌊0.5·3⌋ = 1: a zero
    withinBound(sketchQuantile(s, 1), 5);
  });

  it('round-trips through plain buckets: parallel arrays, a Map, and ClickHouse JSON with quoted counts', () => {
    const s = sketchOf(latencies(200, 7));
    const buckets = sketchToBuckets(s);
    expect(sketchFromBuckets(buckets)).toEqual(s);
    expect(sketchFromBuckets(new Map(buckets.keys.map((k, i) => [k, buckets.counts[i] ?? 0])))).toEqual(s);
    const clickhouseJson = Object.fromEntries(buckets.keys.map((k, i) => [String(k), String(buckets.counts[i])]));
    expect(sketchFromBuckets(clickhouseJson)).toEqual(s);
  });

  it('sums counts when ClickHouse-style summed buckets are read back (sumMap of two rows)', () => {
    const a = sketchToBuckets(sketchOf([10, 20, 20]));
    const b = sketchToBuckets(sketchOf([20, 30]));
    const summed = new Map<number, number>();
    for (const { keys, counts } of [a, b]) {
      keys.forEach((k, i) => {
        summed.set(k, (summed.get(k) ?? 0) + (counts[i] ?? 0));
      });
    }
    expect(sketchFromBuckets(summed)).toEqual(sketchOf([10, 20, 20, 20, 30]));
  });

  it('has no quantile when empty, and rejects a q outside [0, 1] and negative values', () => {
    expect(sketchQuantile(emptySketch(), 0.5)).toBeNull();
    expect(() => sketchQuantile(sketchOf([1]), 1.5)).toThrow(RangeError);
    expect(() => addToSketch(emptySketch(), -1)).toThrow(RangeError);
    expect(() => addToSketch(emptySketch(), Number.NaN)).toThrow(RangeError);
    expect(() => sketchFromBuckets({ keys: [1, 2], counts: [1] })).toThrow(RangeError);
  });
});
