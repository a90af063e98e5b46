import type { QuantileSketch } from './sketch.ts';

/**
 * Accumulators (plain numbers, nested objects of numbers, and quantile sketches) to and
 * from one flat map of additive numbers, the `sums` column of kpi_1m. A sketch becomes
 * `<path>#<bucket>` counts plus `<path>#n`; merging two flat maps by summing keys is
 * exactly merging the accumulators, which is what ClickHouse's `sumMap` does.
 */

const isSketch = (v: unknown): v is QuantileSketch =>
  typeof v === 'object' &&
  v !== null &&
  (v as QuantileSketch).bins instanceof Map &&
  typeof (v as QuantileSketch).count === 'number';

export function flatten(acc: object, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [name, value] of Object.entries(acc)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof value === 'number') {
      if (value !== 0) out[path] = value;
    } else if (isSketch(value)) {
      if (value.count !== 0) out[`${path}#n`] = value.count;
      for (const [bucket, count] of value.bins) out[`${path}#${bucket}`] = count;
    } else if (typeof value === 'object' && value !== null) {
      flatten(value, path, out);
    }
  }
  return out;
}

/** Rebuilds an accumulator shaped like `template` (a fresh empty one) from flat sums. */
export function unflatten<T extends object>(template: T, sums: Record<string, number>): T {
  for (const [key, raw] of Object.entries(sums)) {
    const value = Number(raw);
    const hash = key.indexOf('#');
    const path = (hash === -1 ? key : key.slice(0, hash)).split('.');
    let node: Record<string, unknown> = template as Record<string, unknown>;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== 'object' || next === null) throw new Error(`unknown accumulator field ${key}`);
      node = next as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] ?? '';
    if (hash === -1) {
      if (typeof node[leaf] !== 'number') throw new Error(`unknown accumulator field ${key}`);
      node[leaf] = value;
      continue;
    }
    const sketch = node[leaf];
    if (!isSketch(sketch)) throw new Error(`unknown sketch ${key}`);
    const bucket = key.slice(hash + 1);
    if (bucket === 'n') sketch.count = value;
    else sketch.bins.set(Number(bucket), value);
  }
  return template;
}
