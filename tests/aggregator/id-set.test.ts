import { describe, expect, it } from 'vitest';
import { eventIdHash } from '../../services/aggregator/engine.ts';
import { IdSet } from '../../services/aggregator/id-set.ts';

describe('IdSet: a window’s eventId hashes, compact once written', () => {
  const ids = Array.from({ length: 2_000 }, (_, i) => eventIdHash(`event-${i}`));

  it('answers has() the same before and after compacting, with late additions beside the array', () => {
    const set = new IdSet();
    for (const id of ids.slice(0, 1_000)) set.add(id);
    for (const id of ids.slice(0, 1_000)) expect(set.has(id)).toBe(true);
    for (const id of ids.slice(1_000)) expect(set.has(id)).toBe(false);
    set.compact();
    expect(set.size).toBe(1_000);
    for (const id of ids.slice(0, 1_000)) expect(set.has(id)).toBe(true);
    for (const id of ids.slice(1_000)) expect(set.has(id)).toBe(false);
    // Late events after the write: found before and after the next compaction.
    for (const id of ids.slice(1_000, 1_010)) set.add(id);
    expect(set.size).toBe(1_010);
    for (const id of ids.slice(0, 1_010)) expect(set.has(id)).toBe(true);
    set.compact();
    for (const id of ids.slice(0, 1_010)) expect(set.has(id)).toBe(true);
    expect(set.has(ids[1_999] as number)).toBe(false);
    expect([...set].sort((a, b) => a - b)).toEqual(ids.slice(0, 1_010).sort((a, b) => a - b));
  });

  it('starts compact from stored ids, and finds the smallest and largest', () => {
    const set = new IdSet(ids);
    expect(set.size).toBe(ids.length);
    const sorted = [...ids].sort((a, b) => a - b);
    expect(set.has(sorted[0] as number)).toBe(true);
    expect(set.has(sorted[sorted.length - 1] as number)).toBe(true);
    expect(set.has((sorted[0] as number) - 1)).toBe(false);
    expect(set.has(0)).toBe(false);
    expect(new IdSet().has(1)).toBe(false);
  });
});
