import { describe, expect, it } from 'vitest';
import { keysPerRead, readGroups } from '../../services/aggregator/csi-materializer.ts';

const M = 60_000;
const key = (name: string, firstMin: number, lastMin: number) => ({
  service: name,
  region: 'r',
  first: firstMin * M,
  last: lastMin * M,
});

describe('the CSI materializer’s reads (readGroups)', () => {
  it('reads keys touched over nearly the same minutes together, each keeping its own minutes', () => {
    const groups = readGroups([key('a', 0, 9), key('b', 1, 8), key('c', 0, 9)]);
    expect(groups).toEqual([
      {
        from: 0,
        to: 10 * M,
        keys: [
          { service: 'a', region: 'r', from: 0, until: 10 * M },
          { service: 'c', region: 'r', from: 0, until: 10 * M },
          { service: 'b', region: 'r', from: M, until: 9 * M },
        ],
      },
    ]);
  });

  it('reads a key apart when sharing would widen some key’s read by more than 15 minutes', () => {
    // a: minute 0 only (1 minute); b: minutes 0–15 → union 16 minutes, a widened by 15: together.
    expect(readGroups([key('a', 0, 0), key('b', 0, 15)]).map((g) => g.keys.length)).toEqual([2]);
    // c: minutes 0–16 → a would be widened by 16: apart.
    const apart = readGroups([key('a', 0, 0), key('c', 0, 16)]);
    expect(apart.map((g) => [g.from / M, g.to / M, g.keys.map((k) => k.service)])).toEqual([
      [0, 1, ['a']],
      [0, 17, ['c']],
    ]);
    // A key replayed over 30 days next to live keys of the last minutes.
    const day = 1440;
    const mixed = readGroups([
      key('live1', 30 * day - 2, 30 * day - 1),
      key('replayed', 0, 30 * day - 1),
      key('live2', 30 * day - 1, 30 * day - 1),
    ]);
    expect(mixed.map((g) => g.keys.map((k) => k.service))).toEqual([['replayed'], ['live1', 'live2']]);
  });

  it('reads at most 50,000 key-minutes and 5,000 keys at a time', () => {
    expect(keysPerRead(2 * M)).toBe(5_000);
    expect(keysPerRead(100 * M)).toBe(500);
    expect(keysPerRead(1440 * M)).toBe(34);
    expect(keysPerRead(90 * 1440 * M)).toBe(1);
    // 12,000 keys over the same 2 minutes; 1,200 keys over the same 100 minutes.
    const live = Array.from({ length: 12_000 }, (_, i) => key(`s${i}`, 3, 4));
    expect(readGroups(live).map((g) => g.keys.length)).toEqual([5_000, 5_000, 2_000]);
    const wide = Array.from({ length: 1_200 }, (_, i) => key(`s${i}`, 0, 99));
    expect(readGroups(wide).map((g) => g.keys.length)).toEqual([500, 500, 200]);
    expect(readGroups([])).toEqual([]);
  });
});
