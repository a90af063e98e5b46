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

  it('keeps a few recent ids as a small set: no id twice, deletes found in both parts, past 16 as before', () => {
    const set = new IdSet();
    const [a, b, c] = ids as [number, number, number];
    set.add(a);
    set.add(a);
    set.add(b);
    expect(set.size).toBe(2);
    expect(set.delete(a)).toBe(true);
    expect(set.delete(a)).toBe(false);
    expect([...set]).toEqual([b]);
    set.compact();
    set.add(c);
    expect(set.delete(b)).toBe(true); // from the sorted part
    expect([...set]).toEqual([c]);
    for (const id of ids.slice(3, 40)) set.add(id); // past the small size
    for (const id of ids.slice(3, 40)) set.add(id);
    expect(set.size).toBe(38);
    for (const id of [c, ...ids.slice(3, 40)]) expect(set.has(id)).toBe(true);
    expect(set.delete(ids[10] as number)).toBe(true);
    expect(set.has(ids[10] as number)).toBe(false);
    // Empty sets share nothing that one of them could change.
    const other = new IdSet();
    expect(other.delete(c)).toBe(false);
    expect(other.size).toBe(0);
    expect(new IdSet().size).toBe(0);
  });
});
