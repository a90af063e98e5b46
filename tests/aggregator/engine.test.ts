import { describe, expect, it } from 'vitest';
import { type Family, WindowEngine } from '../../services/aggregator/engine.ts';

/** A family that sums numbers, to test windowing alone. */
const sum: Family<number, { total: number }> = {
  name: 'sum',
  create: () => ({ total: 0 }),
  add: (s, n) => {
    s.total += n;
  },
  remove: (s, n) => {
    s.total -= n;
  },
};

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function engine(overrides: Partial<ConstructorParameters<typeof WindowEngine>[0]> = {}) {
  const e = new WindowEngine({
    windowSizeMs: MIN,
    outOfOrdernessMs: 5000,
    allowedLatenessMs: 2 * MIN,
    idlePartitionMs: 10_000,
    ...overrides,
  });
  e.register(sum);
  return e;
}

const totals = (entries: ReturnType<WindowEngine['due']>) =>
  entries.map((e) => [e.key, e.windowStart - T0, (e.state as { total: number }).total]);

describe('WindowEngine', () => {
  it('closes a window only when the watermark (max event time − out-of-orderness) passes its end', () => {
    const e = engine();
    const wall = T0; // wall clock far from idle
    e.add('sum', 'k', T0 + 1000, 'p:0', 0, 1, wall);
    e.add('sum', 'k', T0 + 30_000, 'p:0', 1, 2, wall);
    e.add('sum', 'k', T0 + 64_999, 'p:0', 2, 4, wall); // watermark 59 999: not yet
    expect(e.due(wall)).toEqual([]);
    e.add('sum', 'k', T0 + 65_000, 'p:0', 3, 8, wall); // watermark 60 000 = end: closes
    expect(totals(e.due(wall))).toEqual([['k', 0, 3]]);
  });

  it('counts an out-of-order event within the bound in its own window', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 62_000, 'p:0', 0, 1, T0);
    expect(e.add('sum', 'k', T0 + 58_000, 'p:0', 1, 10, T0)).toBe('counted');
    e.add('sum', 'k', T0 + 70_000, 'p:0', 2, 100, T0);
    expect(totals(e.due(T0))).toEqual([['k', 0, 10]]);
  });

  it('updates a written window within the allowed lateness (new version), and refuses later events', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 1000, 'p:0', 0, 1, T0);
    e.add('sum', 'k', T0 + 66_000, 'p:0', 1, 1, T0);
    const first = e.due(T0);
    const v1 = e.nextVersion(T0);
    e.markWritten(first, [v1], T0);
    expect(e.add('sum', 'k', T0 + 2000, 'p:0', 2, 5, T0)).toBe('late_update');
    const again = e.due(T0);
    expect(totals(again)).toEqual([['k', 0, 6]]);
    const v2 = e.nextVersion(T0);
    expect(v2).toBeGreaterThan(v1);
    e.markWritten(again, [v2], T0);
    // Watermark moves to end + lateness: the window is final and leaves memory.
    e.add('sum', 'k', T0 + MIN + 2 * MIN + 5000, 'p:0', 3, 1, T0);
    expect(e.add('sum', 'k', T0 + 3000, 'p:0', 4, 7, T0)).toBe('too_late');
    e.markWritten(e.due(T0), [e.nextVersion(T0)], T0);
    expect(e.evict(T0)).toBeGreaterThanOrEqual(1);
    expect(e.has('sum', 'k', T0)).toBe(false);
  });

  it('a window fed by two partitions waits for both watermarks', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 1000, 'p:0', 0, 1, T0);
    e.add('sum', 'k', T0 + 2000, 'p:1', 0, 1, T0);
    e.add('sum', 'x', T0 + 120_000, 'p:0', 1, 1, T0);
    expect(e.due(T0)).toEqual([]);
    e.add('sum', 'y', T0 + 120_000, 'p:1', 1, 1, T0);
    expect(totals(e.due(T0))).toEqual([['k', 0, 2]]);
  });

  it('keeps each feeding partition’s last and first unwritten offset, from one partition to two', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 1000, 'p:0', 5, 1, T0);
    e.add('sum', 'k', T0 + 1500, 'p:0', 7, 1, T0);
    expect(e.commitSafeOffsets()).toEqual(new Map([['p:0', 5]]));
    e.add('sum', 'k', T0 + 2000, 'p:1', 3, 1, T0);
    e.add('sum', 'k', T0 + 2500, 'p:0', 9, 1, T0);
    expect(e.commitSafeOffsets()).toEqual(
      new Map([
        ['p:0', 5],
        ['p:1', 3],
      ]),
    );
    const [entry] = e.due(T0, true);
    expect(new Map(entry?.lastOffset)).toEqual(
      new Map([
        ['p:0', 9],
        ['p:1', 3],
      ]),
    );
    e.markWritten(entry ? [entry] : [], [e.nextVersion(T0)], T0);
    expect(e.commitSafeOffsets()).toEqual(
      new Map([
        ['p:0', 10],
        ['p:1', 4],
      ]),
    );
    // Written, then fed again by one of them: only that one is held back.
    e.add('sum', 'k', T0 + 3000, 'p:1', 8, 1, T0);
    expect(e.commitSafeOffsets()).toEqual(
      new Map([
        ['p:0', 10],
        ['p:1', 8],
      ]),
    );
    // One partition alone: its offsets as a one-entry map.
    const one = engine();
    one.add('sum', 'k', T0 + 1000, 'p:0', 5, 1, T0);
    one.add('sum', 'k', T0 + 1500, 'p:0', 4, 1, T0);
    const [single] = one.due(T0, true);
    expect([...(single?.lastOffset ?? [])]).toEqual([['p:0', 5]]);
    expect([...(single?.firstUnwrittenOffset.keys() ?? [])]).toEqual(['p:0']);
    expect(one.commitSafeOffsets().get('p:0')).toBe(5);
  });

  it('an idle partition advances by wall clock after the idle timeout', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 1000, 'p:0', 0, 1, T0 + 1000);
    expect(e.due(T0 + 9000)).toEqual([]);
    // 10 s of silence: watermark = wall clock − 5 s.
    expect(e.due(T0 + 64_000)).toEqual([]);
    expect(totals(e.due(T0 + 65_000))).toEqual([['k', 0, 1]]);
  });

  it('commits only below the first unwritten offset of each partition', () => {
    const e = engine();
    e.add('sum', 'a', T0 + 1000, 'p:0', 10, 1, T0);
    e.add('sum', 'b', T0 + 61_000, 'p:0', 11, 1, T0);
    e.add('sum', 'a', T0 + 2000, 'p:0', 12, 1, T0);
    e.add('sum', 'c', T0 + 70_000, 'p:0', 13, 1, T0);
    expect(e.commitSafeOffsets().get('p:0')).toBe(10);
    const due = e.due(T0); // window a@0 closes (watermark 65 s); b@60 s does not
    expect(totals(due)).toEqual([['a', 0, 2]]);
    e.markWritten(due, [e.nextVersion(T0)], T0);
    expect(e.commitSafeOffsets().get('p:0')).toBe(11);
    e.markWritten(e.due(T0, true), [1, 2], T0);
    expect(e.commitSafeOffsets().get('p:0')).toBe(14);
  });

  it('after a seed from the store, redelivered offsets it counts are skipped and later ones add to it', () => {
    const e = engine();
    e.seed('sum', 'k', T0, { total: 40 }, 7, new Map([['p:0', 20]]));
    expect(e.add('sum', 'k', T0 + 1000, 'p:0', 19, 5, T0)).toBe('already_counted');
    expect(e.add('sum', 'k', T0 + 1000, 'p:0', 20, 5, T0)).toBe('already_counted');
    // Stored, but not known to be closed (no watermark yet): counted, not late.
    expect(e.add('sum', 'k', T0 + 1000, 'p:0', 21, 2, T0)).toBe('counted');
    expect(totals(e.due(T0, true))).toEqual([['k', 0, 42]]);
    expect(e.nextVersion(T0)).toBeGreaterThan(7);
  });

  it('markDirty holds the offset of the message that caused it until the rewrite', () => {
    const e = engine();
    e.add('sum', 'k', T0 + 1000, 'p:0', 0, 1, T0);
    e.markWritten(e.due(T0, true), [1], T0);
    e.consumed('m:0', 5, T0);
    expect(e.commitSafeOffsets().get('m:0')).toBe(6);
    expect(e.markDirty((w) => w.key === 'k', { partition: 'm:0', offset: 5 })).toBe(1);
    expect(e.commitSafeOffsets().get('m:0')).toBe(5);
    e.markWritten(e.due(T0, true), [2], T0);
    expect(e.commitSafeOffsets().get('m:0')).toBe(6);
  });
  it('a replay that pauses past the idle time has its windows written, and its next event counted, not late', () => {
    const YEAR = 366 * 86_400_000;
    const replay = (pid: string) => pid.startsWith('backfill:');
    const e = engine({ outOfOrdernessFor: (pid) => (replay(pid) ? YEAR : undefined), replayPartition: replay });
    // History from a year before the wall clock: a file replayed into the backfill topic.
    const H = T0 - 365 * 86_400_000;
    let wall = T0;
    expect(e.add('sum', 'k', H + 1000, 'backfill:0', 0, 1, wall)).toBe('counted');
    expect(e.add('sum', 'k', H + MIN + 1000, 'backfill:0', 1, 2, wall)).toBe('counted');
    expect(e.due(wall)).toEqual([]); // the file's own clock never closes a year-old window
    // The sender pauses (ingest said 429): idle, the partition closes its windows.
    wall += 10_000;
    const closed = e.due(wall);
    expect(totals(closed)).toEqual([
      ['k', H - T0, 1],
      ['k', H + MIN - T0, 2],
    ]);
    e.markWritten(closed, [e.nextVersion(wall), e.nextVersion(wall)], wall);
    // The replay resumes with the rest of the same minutes: counted into them again.
    expect(e.add('sum', 'k', H + 2000, 'backfill:0', 2, 4, wall)).toBe('late_update');
    expect(e.add('sum', 'k', H + 3000, 'backfill:0', 3, 8, wall)).toBe('late_update');
    expect(totals(e.due(wall + 10_000))).toEqual([['k', H - T0, 13]]);
    // A live partition idle as long: an event as old is too late, judged against the wall clock.
    e.add('sum', 'k', T0, 'live:0', 0, 1, T0);
    expect(e.add('sum', 'k', H + 4000, 'live:0', 1, 16, wall)).toBe('too_late');
    expect(e.tooLateWatermark).toBe(wall - 5000);
  });

  it('scans only what a flush can act on, and a lagging partition keeps what it fed (dirty set, windows by end)', () => {
    const e = engine({ idlePartitionMs: 10 * MIN });
    // Minute 0: key a from p:0, key b from p:0 and p:1; minute 1: key a from p:0.
    e.add('sum', 'a', T0 + 1000, 'p:0', 0, 1, T0);
    e.add('sum', 'b', T0 + 2000, 'p:0', 1, 2, T0);
    e.add('sum', 'b', T0 + 3000, 'p:1', 0, 4, T0);
    e.add('sum', 'a', T0 + MIN + 1000, 'p:0', 2, 8, T0);
    // A checkpoint writes every dirty window; nothing is left to commit-hold afterwards.
    const all = e.due(T0, true);
    expect(totals(all)).toEqual([
      ['a', 0, 1],
      ['b', 0, 6],
      ['a', MIN, 8],
    ]);
    e.markWritten(all, [1, 2, 3], T0);
    expect(e.due(T0, true)).toEqual([]);
    expect(Object.fromEntries(e.commitSafeOffsets())).toEqual({ 'p:0': 3, 'p:1': 1 });
    // p:0 runs far ahead (past minute 1's end + the lateness); p:1 stays at minute 0.
    e.add('sum', 'c', T0 + 10 * MIN, 'p:0', 3, 16, T0);
    expect(Object.fromEntries(e.commitSafeOffsets())).toEqual({ 'p:0': 3, 'p:1': 1 });
    // Minute 0's a and minute 1's a are final; b is held by p:1, c is dirty.
    expect(e.evict(T0)).toBe(2);
    expect(e.has('sum', 'a', T0)).toBe(false);
    expect(e.has('sum', 'a', T0 + MIN)).toBe(false);
    expect(e.has('sum', 'b', T0)).toBe(true);
    expect(e.size).toBe(2);
    // b gets a late update from p:1: dirty again, due once p:1's watermark passes its end.
    expect(e.add('sum', 'b', T0 + 4000, 'p:1', 1, 32, T0)).toBe('counted');
    expect(Object.fromEntries(e.commitSafeOffsets())).toEqual({ 'p:0': 3, 'p:1': 1 });
    expect(totals(e.due(T0))).toEqual([]);
    e.add('sum', 'd', T0 + 2 * MIN + 6000, 'p:1', 2, 64, T0);
    // c (minute 10) is not closed: p:0's watermark is 5 s short of its end.
    expect(totals(e.due(T0))).toEqual([['b', 0, 38]]);
    // A partition taken away takes the windows only it fed out of every index.
    e.release(['p:1']);
    expect(e.has('sum', 'd', T0 + 2 * MIN)).toBe(false);
    expect(e.has('sum', 'b', T0)).toBe(true);
    expect(totals(e.due(T0, true)).map(([key]) => key)).toEqual(['b', 'c']);
  });
});
