/**
 * A DDSketch-style quantile sketch: logarithmic buckets with 1 % relative accuracy.
 *
 * Why this shape: a bucket is an integer key and a count, so merging two sketches is
 * summing counts key by key. That is exact (merge(A, B) has the very buckets of the
 * sketch of A ∪ B), and it is what ClickHouse does with `sumMap` over a
 * `Map(Int32, UInt64)` column, so 5-minute, hourly and daily percentiles are read
 * from merged buckets, never from averaged percentiles.
 *
 * Bucketing: γ = (1 + α) / (1 − α) with α = 0.01. A value x > MIN_INDEXABLE goes to
 * key i = ⌈log_γ x⌉, the bucket (γ^(i−1), γ^i], and is read back as
 * 2γ^i / (γ + 1). Every x in that bucket is within α · x of it, so
 * `sketchQuantile(s, q)` is within 1 % (relative) of the exact value sorted[⌊q·(n−1)⌋].
 * Values in [0, MIN_INDEXABLE] go to the ZERO_BUCKET_KEY and read back as 0.
 *
 * α and the key formula are part of the storage format: stored buckets are only
 * comparable with buckets made with the same α (a change needs a new column).
 * The @datadog/sketches-js library implements the same algorithm, but its bins live in
 * class internals (export goes through protobuf), and we need plain key → count maps.
 */

export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Below this a value counts as zero: 1e-6 ms or kbps is nothing a probe can measure. */
export const MIN_INDEXABLE = 1e-6;
/** The key of the zero bucket: Int32's smallest value, so it sorts first and fits the column type. */
export const ZERO_BUCKET_KEY = -2_147_483_648;

export interface QuantileSketch {
  /** Bucket key → number of values in it. */
  bins: Map<number, number>;
  /** Number of values (the sum of every bin). */
  count: number;
}

/** Buckets as parallel arrays sorted by key (ClickHouse `Array(Int32)` + `Array(UInt64)`, or a Map). */
export interface SketchBuckets {
  keys: number[];
  counts: number[];
}

export const emptySketch = (): QuantileSketch => ({ bins: new Map(), count: 0 });

/** The bucket a value falls in. Throws on a negative or non-finite value (probe schemas forbid them). */
export function bucketKey(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`sketch values must be finite and ≥ 0, got ${value}`);
  return value <= MIN_INDEXABLE ? ZERO_BUCKET_KEY : Math.ceil(Math.log(value) / LOG_GAMMA);
}

/** The value a bucket reads back as: within RELATIVE_ACCURACY of every value in it. */
export function bucketValue(key: number): number {
  return key === ZERO_BUCKET_KEY ? 0 : (2 * GAMMA ** key) / (GAMMA + 1);
}

/** Adds `value` (`times` times) to the sketch, in place. */
export function addToSketch(sketch: QuantileSketch, value: number, times = 1): QuantileSketch {
  const key = bucketKey(value);
  sketch.bins.set(key, (sketch.bins.get(key) ?? 0) + times);
  sketch.count += times;
  return sketch;
}

/** A new sketch holding both inputs: bucket counts summed, so exact. */
export function mergeSketches(a: QuantileSketch, b: QuantileSketch): QuantileSketch {
  const bins = new Map(a.bins);
  for (const [key, n] of b.bins) bins.set(key, (bins.get(key) ?? 0) + n);
  return { bins, count: a.count + b.count };
}

/**
 * The q-quantile (0 ≤ q ≤ 1): the bucket value of the element of rank ⌊q·(n−1)⌋ in
 * sorted order (q = 0.5 of [1, 2, 3, 4] is 2, the lower median). null when empty.
 */
export function sketchQuantile(sketch: QuantileSketch, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must lie in [0, 1], got ${q}`);
  if (sketch.count === 0) return null;
  const rank = Math.floor(q * (sketch.count - 1));
  let seen = 0;
  const keys = [...sketch.bins.keys()].sort((x, y) => x - y);
  for (const key of keys) {
    seen += sketch.bins.get(key) ?? 0;
    if (seen > rank) return bucketValue(key);
  }
  // Unreachable while count equals the sum of bins; the last bucket is the right answer anyway.
  const last = keys.at(-1);
  return last === undefined ? null : bucketValue(last);
}

/** The non-empty buckets, sorted by key. */
export function sketchToBuckets(sketch: QuantileSketch): SketchBuckets {
  const keys = [...sketch.bins.keys()].filter((k) => (sketch.bins.get(k) ?? 0) > 0).sort((x, y) => x - y);
  return { keys, counts: keys.map((k) => sketch.bins.get(k) ?? 0) };
}

/**
 * A sketch from stored buckets: parallel arrays, a Map, or a JSON object as ClickHouse
 * returns a `Map(Int32, UInt64)` (keys as strings, 64-bit counts quoted as strings).
 */
export function sketchFromBuckets(
  buckets: SketchBuckets | Map<number, number> | Record<string, number | string>,
): QuantileSketch {
  const sketch = emptySketch();
  const put = (key: number, count: number) => {
    if (!Number.isInteger(key) || !Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`bad sketch bucket ${key} → ${count}`);
    }
    if (count === 0) return;
    sketch.bins.set(key, (sketch.bins.get(key) ?? 0) + count);
    sketch.count += count;
  };
  if (buckets instanceof Map) {
    for (const [k, n] of buckets) put(k, n);
  } else if (isParallelArrays(buckets)) {
    if (buckets.keys.length !== buckets.counts.length) throw new RangeError('sketch keys and counts differ in length');
    buckets.keys.forEach((k, i) => {
      put(k, buckets.counts[i] ?? 0);
    });
  } else {
    for (const [k, n] of Object.entries(buckets)) put(Number(k), Number(n));
  }
  return sketch;
}

function isParallelArrays(b: SketchBuckets | Record<string, number | string>): b is SketchBuckets {
  return Array.isArray((b as SketchBuckets).keys) && Array.isArray((b as SketchBuckets).counts);
}
