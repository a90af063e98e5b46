import { IdSet } from './id-set.ts';

/**
 * Event-time tumbling windows with per-partition watermarks: pure logic, no I/O.
 *
 * The protocol (how the aggregator gets an exactly-once effect from at-least-once
 * delivery), in the order things happen:
 *
 * 1. Every consumed message belongs to a "partition id" (`topic:partition`). Its event
 *    time moves that partition's watermark to `max event time − outOfOrderness`. A
 *    partition quiet for `idlePartitionMs` of wall clock advances to
 *    `wall clock − outOfOrderness`, so quiet sources do not hold windows open. A replay
 *    partition (history: `replayPartition`) going quiet closes its windows that way too,
 *    but its next event is judged late by the replay's own clock only: a replay that
 *    pauses (a 429, a second file) goes on counting.
 * 2. An event lands in the window `[floor(t / size) · size, + size)` of its key. The
 *    window remembers which partitions fed it and, per partition, the smallest offset
 *    not yet written (`firstUnwrittenOffset`).
 * 3. A window is due when the watermark of every partition that fed it has passed its
 *    end. The runner writes due windows (a new `version` each time), then calls
 *    `markWritten`. It may also write open windows (`due(…, true)`: a checkpoint, a
 *    stop); they stay open and count on.
 * 4. Offsets are committed only up to `commitSafeOffsets()`: per partition, the
 *    smallest unwritten offset of any window it fed, or one past the last consumed
 *    offset when nothing is unwritten. So a crash loses nothing that was not written.
 * 5. A window stays in memory after it is written until the watermark passes
 *    `end + allowedLateness`. An event for it in that time updates it (a new version
 *    of the same row). Later than that the window is final and the event is
 *    `too_late`: the runner stores it in late_events.
 * 6. After a restart, messages after the last commit are delivered again. For a window
 *    that is already written, the runner seeds its state from the stored row together
 *    with the last offset that row counts and the eventIds it counts (`seed`); both are
 *    columns of the row itself, written in the same insert as its state, so they always
 *    describe exactly what the state includes. Redelivered messages at or below that
 *    offset are `already_counted` and skipped; later ones update the row unless their
 *    eventId is among the row's (a re-sent event: `duplicate`).
 * 7. Corrections (an eventId seen before with other content, or a retraction) are
 *    `remove`d from the windows of the version they replace and `add`ed as the new
 *    version. Each window knows which version of each event it counts (`versions`, for
 *    every event whose counted version is not its first) and which versions it counted
 *    and gave back (`retired`), in the same row as its state: so a removal or an
 *    addition replayed after a crash finds it already done, window by window.
 */

export interface Family<E, S> {
  /** Also the source name for metrics and late events. */
  readonly name: string;
  create(key: string, windowStart: number): S;
  add(state: S, event: E): void;
  /** Takes back exactly what `add` of the same event added (a correction or retraction). */
  remove(state: S, event: E): void;
}

/**
 * Which version of an event an add or remove is about: `fingerprint` hashes its content,
 * `first` is the fingerprint of the event's first version (what a window counts when it
 * keeps no other in `versions`). `ignoreLateness`: a correction within its horizon
 * reopens a window even past the allowed lateness.
 */
export interface EventVersion {
  fingerprint: number;
  first: number;
  ignoreLateness?: boolean;
}

export interface WindowEntry<S = unknown> {
  family: string;
  /** Hashes of the eventIds counted in this window: the dedupe set (see eventIdHash), compacted once written. */
  ids: IdSet;
  /**
   * eventIdHash → fingerprint of the counted version, for events whose counted version is
   * not their first (sparse). Like the other sparse fields below, one shared empty instance
   * until the window needs its own (a Map or Set costs 150–190 bytes even when empty, and
   * most windows never need these): the engine alone changes them, through `own`.
   */
  versions: ReadonlyMap<number, number>;
  /** versionHash of every version this window counted and gave back (sparse). */
  retired: ReadonlySet<number>;
  /** Raw events added since the last write (raw_events lines), written after the window row. */
  pendingRaw: readonly string[];
  key: string;
  windowStart: number;
  windowEnd: number;
  state: S;
  /** Per partition that fed this window: the largest offset its state includes. */
  lastOffset: ReadonlyMap<string, number>;
  /** Per partition: smallest offset added since the last write (empty when clean). */
  firstUnwrittenOffset: ReadonlyMap<string, number>;
  /** Per partition: offsets at or below this were counted by the stored row this state was seeded from. */
  countedUpTo: ReadonlyMap<string, number>;
  dirty: boolean;
  written: boolean;
  /** Written at least once after it closed: events for it from then on are late updates. */
  emitted: boolean;
  version: number;
}

export type AddOutcome = 'counted' | 'late_update' | 'too_late' | 'already_counted' | 'duplicate';

/** The shared empty instances of a window's sparse fields (never changed: see `own`). */
const NONE_MAP: ReadonlyMap<never, never> = new Map<never, never>();
const NONE_SET: ReadonlySet<never> = new Set<never>();
const NONE_LINES: readonly string[] = [];

/**
 * A map of one entry, the engine's to change: a window's per-partition offsets while one
 * partition feeds it (nearly always), at the cost of an object of two fields instead of a
 * `Map` (about 190 bytes). A second partition turns it into a `Map` (`withOffset`).
 */
class OneEntry<K, V> implements ReadonlyMap<K, V> {
  constructor(
    readonly key: K,
    public value: V,
  ) {}
  get size(): number {
    return 1;
  }
  get(key: K): V | undefined {
    return key === this.key ? this.value : undefined;
  }
  has(key: K): boolean {
    return key === this.key;
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    callback(this.value, this.key, this);
  }
  *entries(): MapIterator<[K, V]> {
    yield [this.key, this.value];
  }
  *keys(): MapIterator<K> {
    yield this.key;
  }
  *values(): MapIterator<V> {
    yield this.value;
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** `offsets` with `partition` set to `pick(its current value)`: the same object where it can be, else a larger one. */
function withOffset(
  offsets: ReadonlyMap<string, number>,
  partition: string,
  pick: (current: number | undefined) => number,
): ReadonlyMap<string, number> {
  if (offsets === NONE_MAP) return new OneEntry(partition, pick(undefined));
  if (offsets instanceof OneEntry) {
    if (offsets.key === partition) {
      offsets.value = pick(offsets.value);
      return offsets;
    }
    return new Map([
      [offsets.key, offsets.value as number],
      [partition, pick(undefined)],
    ]);
  }
  const map = offsets as Map<string, number>;
  map.set(partition, pick(map.get(partition)));
  return map;
}

/** A window's own instance of a sparse field, to change: the shared empty one is replaced by a new one. */
function own<K, V>(m: ReadonlyMap<K, V>): Map<K, V>;
function own<T>(m: ReadonlySet<T>): Set<T>;
function own(m: ReadonlyMap<unknown, unknown> | ReadonlySet<unknown>): Map<unknown, unknown> | Set<unknown> {
  if (m === NONE_MAP) return new Map();
  if (m === NONE_SET) return new Set();
  return m as Map<unknown, unknown> | Set<unknown>;
}

/** `removed`: taken out of the window; `not_counted`: the window does not count that version (never did, or a replay found it done). */
export type RemoveOutcome = 'removed' | 'not_counted' | 'already_counted';

export interface EngineOptions {
  windowSizeMs: number;
  outOfOrdernessMs: number;
  /** A different bound for some partitions (history replays follow their file, not the wall clock). */
  outOfOrdernessFor?: (partition: string) => number | undefined;
  /**
   * Partitions carrying history (backfill topics). Idle, they close their windows like any
   * partition, but whether an event is too late follows their events only, never the wall
   * clock: every event of a replay is older than the wall clock minus the lateness.
   */
  replayPartition?: (partition: string) => boolean;
  allowedLatenessMs: number;
  idlePartitionMs: number;
}

interface PartitionClock {
  maxEventTime: number;
  lastActivityWall: number;
  lastConsumedOffset: number;
  /** Resolved once per partition: its out-of-orderness bound, and whether it carries a replay. */
  outOfOrdernessMs: number;
  replay: boolean;
}

export const windowStartOf = (eventTime: number, sizeMs: number): number => Math.floor(eventTime / sizeMs) * sizeMs;

/**
 * A 53-bit hash of an eventId (two FNV-1a passes): windows keep these instead of the
 * strings, about a fifth of the memory; a false "duplicate" needs two ids of the same
 * window to collide on 53 bits.
 */
export function eventIdHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < id.length; i += 1) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return a * 0x200000 + (b & 0x1fffff);
}

/** The hash of one version of one event: an eventId with the fingerprint of its content. */
export const versionHash = (idHash: number, fingerprint: number): number => eventIdHash(`${idHash}\u0000${fingerprint}`);

export class WindowEngine {
  private readonly families = new Map<string, Family<unknown, unknown>>();
  private readonly windows = new Map<string, WindowEntry>();
  /**
   * The dirty windows (`entry.dirty`) by end: what `due` and `commitSafeOffsets` visit, so a
   * flush costs what changed since the last one, not every window held for the allowed
   * lateness, and `due` looks only at the ends a watermark passed. Only a dirty window
   * holds unwritten offsets (`firstUnwrittenOffset`). A window is in its end's array
   * exactly while it is dirty: it joins when it turns dirty, and `markWritten` and
   * `release` rebuild the arrays they touch (arrays, not sets: 8 bytes a window).
   */
  private dirtyByEnd = new Map<number, WindowEntry[]>();
  /**
   * Every window in memory by its end: `evict` visits only the ends the watermarks can have
   * made final. Arrays, not sets (8 bytes a window, not about 40: every open key has one):
   * a window leaves its array when `evict` drops it, and `release` rebuilds them.
   */
  private byEnd = new Map<number, WindowEntry[]>();
  private readonly partitions = new Map<string, PartitionClock>();
  private lastVersion = 0;
  private lastTooLateWatermark = Number.NaN;

  constructor(private readonly options: EngineOptions) {}

  register<E, S>(family: Family<E, S>): void {
    this.families.set(family.name, family as Family<unknown, unknown>);
  }

  private static id(family: string, key: string, windowStart: number): string {
    return `${family}\u0000${key}\u0000${windowStart}`;
  }

  private hold(id: string, entry: WindowEntry): void {
    this.windows.set(id, entry);
    const ending = this.byEnd.get(entry.windowEnd);
    if (ending) ending.push(entry);
    else this.byEnd.set(entry.windowEnd, [entry]);
  }

  private markDirtyEntry(entry: WindowEntry): void {
    if (entry.dirty) return;
    entry.dirty = true;
    const ending = this.dirtyByEnd.get(entry.windowEnd);
    if (ending) ending.push(entry);
    else this.dirtyByEnd.set(entry.windowEnd, [entry]);
  }

  /** After windows of these ends turned clean: their arrays keep the dirty ones only. */
  private pruneDirty(ends: Iterable<number>): void {
    for (const end of ends) {
      const still = (this.dirtyByEnd.get(end) ?? []).filter((entry) => entry.dirty);
      if (still.length > 0) this.dirtyByEnd.set(end, still);
      else this.dirtyByEnd.delete(end);
    }
  }

  /**
   * The highest of the partitions' watermarks: no window ending after it can be closed
   * (`due`) or final (`evict`). A window no partition fed (seeded from the store, then only
   * duplicates) waits for it too, where a scan of every window closed it at once.
   */
  private static highest(watermarks: ReadonlyMap<string, number>): number {
    let highest = Number.NEGATIVE_INFINITY;
    for (const w of watermarks.values()) highest = Math.max(highest, w);
    return highest;
  }

  /** Each fed partition's watermark, computed once per call of a scan (`due`, `evict`). */
  private watermarks(wallNow: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [p, clock] of this.partitions) out.set(p, this.clockWatermark(clock, wallNow));
    return out;
  }

  /** Record that `offset` of `partition` was consumed (every message, whatever it was). */
  consumed(partition: string, offset: number, wallNow: number): void {
    const clock = this.clock(partition, wallNow);
    clock.lastConsumedOffset = Math.max(clock.lastConsumedOffset, offset);
    clock.lastActivityWall = wallNow;
  }

  private clock(partition: string, wallNow: number): PartitionClock {
    let clock = this.partitions.get(partition);
    if (!clock) {
      clock = {
        maxEventTime: Number.NEGATIVE_INFINITY,
        lastActivityWall: wallNow,
        lastConsumedOffset: -1,
        outOfOrdernessMs: this.options.outOfOrdernessFor?.(partition) ?? this.options.outOfOrdernessMs,
        replay: this.options.replayPartition?.(partition) ?? false,
      };
      this.partitions.set(partition, clock);
    }
    return clock;
  }

  /** The partition's watermark: event time before which it has (probably) delivered everything. */
  watermark(partition: string, wallNow: number): number {
    const clock = this.partitions.get(partition);
    return clock ? this.clockWatermark(clock, wallNow) : Number.NEGATIVE_INFINITY;
  }

  private clockWatermark(clock: PartitionClock, wallNow: number): number {
    const byEvents = clock.maxEventTime - clock.outOfOrdernessMs;
    if (wallNow - clock.lastActivityWall >= this.options.idlePartitionMs) {
      return Math.max(byEvents, wallNow - this.options.outOfOrdernessMs);
    }
    return byEvents;
  }

  /** The watermark the last `too_late` verdict was judged against (the event itself has moved the partition's since). */
  get tooLateWatermark(): number {
    return this.lastTooLateWatermark;
  }

  /** Adds one event. The watermark moves only after the event is placed, so it never makes itself late. */
  add<E>(
    familyName: string,
    key: string,
    eventTime: number,
    partition: string,
    offset: number,
    event: E,
    wallNow: number,
    eventId?: string,
    /** The event's raw_events line, built only when the event is counted (not for duplicates). */
    raw?: () => string,
    version?: EventVersion,
  ): AddOutcome {
    const family = this.families.get(familyName);
    if (!family) throw new Error(`No window family named ${familyName}`);
    const clock = this.clock(partition, wallNow);
    const windowStart = windowStartOf(eventTime, this.options.windowSizeMs);
    const windowEnd = windowStart + this.options.windowSizeMs;
    const id = WindowEngine.id(familyName, key, windowStart);
    let entry = this.windows.get(id);
    const watermark = this.clockWatermark(clock, wallNow);
    if (entry?.countedUpTo.has(partition) && offset <= (entry.countedUpTo.get(partition) ?? -1)) {
      this.touch(clock, eventTime, offset, wallNow);
      return 'already_counted';
    }
    // A replay partition is judged by its own events only (see `replayPartition`).
    const lateBound = clock.replay ? clock.maxEventTime - clock.outOfOrdernessMs : watermark;
    if (!version?.ignoreLateness && windowEnd + this.options.allowedLatenessMs <= lateBound) {
      this.lastTooLateWatermark = lateBound;
      this.touch(clock, eventTime, offset, wallNow);
      return 'too_late';
    }
    const idHash = eventId === undefined ? undefined : eventIdHash(eventId);
    // A window counts one version of an event: another one is added only after `remove`.
    if (entry && idHash !== undefined && entry.ids.has(idHash)) {
      this.touch(clock, eventTime, offset, wallNow);
      return 'duplicate';
    }
    if (entry && idHash !== undefined && version && entry.retired.has(versionHash(idHash, version.fingerprint))) {
      this.touch(clock, eventTime, offset, wallNow);
      return 'already_counted';
    }
    if (!entry) {
      entry = this.newEntry(familyName, key, windowStart, family.create(key, windowStart));
      this.hold(id, entry);
    }
    family.add(entry.state, event);
    if (idHash !== undefined) {
      entry.ids.add(idHash);
      if (version && version.fingerprint !== version.first) {
        const versions = own(entry.versions);
        versions.set(idHash, version.fingerprint);
        entry.versions = versions;
      }
    }
    if (raw !== undefined) {
      if (entry.pendingRaw === NONE_LINES) entry.pendingRaw = [raw()];
      else (entry.pendingRaw as string[]).push(raw());
    }
    this.changed(entry, partition, offset);
    this.touch(clock, eventTime, offset, wallNow);
    // A window written by a checkpoint while still open is not late: only one written
    // once closed (or already closed for this partition) is.
    return entry.emitted || windowEnd <= watermark ? 'late_update' : 'counted';
  }

  /**
   * Takes one version of an event out of its window (it was corrected or retracted), when
   * the window counts exactly that version; the aggregator seeds stored windows first.
   * Never judged late: the aggregator applies the correction horizon before.
   */
  remove<E>(
    familyName: string,
    key: string,
    eventTime: number,
    partition: string,
    offset: number,
    event: E,
    wallNow: number,
    eventId: string,
    version: EventVersion,
  ): RemoveOutcome {
    const family = this.families.get(familyName);
    if (!family) throw new Error(`No window family named ${familyName}`);
    const clock = this.clock(partition, wallNow);
    const entry = this.windows.get(WindowEngine.id(familyName, key, windowStartOf(eventTime, this.options.windowSizeMs)));
    this.touchOffset(clock, offset, wallNow);
    if (!entry) return 'not_counted';
    if (entry.countedUpTo.has(partition) && offset <= (entry.countedUpTo.get(partition) ?? -1)) return 'already_counted';
    const idHash = eventIdHash(eventId);
    if (!entry.ids.has(idHash) || (entry.versions.get(idHash) ?? version.first) !== version.fingerprint) return 'not_counted';
    family.remove(entry.state, event);
    entry.ids.delete(idHash);
    if (entry.versions.has(idHash)) own(entry.versions).delete(idHash);
    const retired = own(entry.retired);
    retired.add(versionHash(idHash, version.fingerprint));
    entry.retired = retired;
    this.changed(entry, partition, offset);
    return 'removed';
  }

  private newEntry(family: string, key: string, windowStart: number, state: unknown): WindowEntry {
    return {
      family,
      ids: new IdSet(),
      versions: NONE_MAP,
      retired: NONE_SET,
      pendingRaw: NONE_LINES,
      key,
      windowStart,
      windowEnd: windowStart + this.options.windowSizeMs,
      state,
      lastOffset: NONE_MAP,
      firstUnwrittenOffset: NONE_MAP,
      countedUpTo: NONE_MAP,
      dirty: false,
      written: false,
      emitted: false,
      version: 0,
    };
  }

  private changed(entry: WindowEntry, partition: string, offset: number): void {
    entry.lastOffset = withOffset(entry.lastOffset, partition, (last) => Math.max(last ?? -1, offset));
    this.holdOffset(entry, partition, offset);
    this.markDirtyEntry(entry);
  }

  /** Keeps `offset` of `partition` uncommitted until the window is written, unless an earlier one already is. */
  private holdOffset(entry: WindowEntry, partition: string, offset: number): void {
    if (entry.firstUnwrittenOffset.has(partition)) return;
    entry.firstUnwrittenOffset = withOffset(entry.firstUnwrittenOffset, partition, () => offset);
  }

  /** A message that moved no event time (a retraction, a removal): its offset is consumed, the clock keeps its time. */
  private touchOffset(clock: PartitionClock, offset: number, wallNow: number): void {
    clock.lastConsumedOffset = Math.max(clock.lastConsumedOffset, offset);
    clock.lastActivityWall = wallNow;
  }

  private touch(clock: PartitionClock, eventTime: number, offset: number, wallNow: number): void {
    clock.maxEventTime = Math.max(clock.maxEventTime, eventTime);
    clock.lastConsumedOffset = Math.max(clock.lastConsumedOffset, offset);
    clock.lastActivityWall = wallNow;
  }

  /** Is a window of this key and start held in memory? */
  has(familyName: string, key: string, windowStart: number): boolean {
    return this.windows.has(WindowEngine.id(familyName, key, windowStart));
  }

  /**
   * Installs a window already stored (after a restart or a rebalance): its state as
   * read back, its version, per partition the last offset the row counts, the
   * hashes (eventIdHash) of the eventIds it counts, and the versions it keeps (see
   * WindowEntry `versions` and `retired`).
   */
  seed<S>(
    familyName: string,
    key: string,
    windowStart: number,
    state: S,
    version: number,
    countedUpTo: Map<string, number>,
    idHashes: Iterable<number> = [],
    kept: { versions?: Map<number, number>; retired?: Iterable<number> } = {},
  ): void {
    const id = WindowEngine.id(familyName, key, windowStart);
    if (this.windows.has(id)) return;
    const entry = this.newEntry(familyName, key, windowStart, state);
    entry.ids = new IdSet(idHashes);
    if (kept.versions && kept.versions.size > 0) entry.versions = new Map(kept.versions);
    const retired = new Set(kept.retired ?? []);
    if (retired.size > 0) entry.retired = retired;
    if (countedUpTo.size > 0) {
      entry.lastOffset = new Map(countedUpTo);
      entry.countedUpTo = countedUpTo;
    }
    entry.written = true;
    entry.version = version;
    this.hold(id, entry);
    this.lastVersion = Math.max(this.lastVersion, version);
  }

  /**
   * Marks windows dirty without new events (a maintenance declaration changed how
   * their results classify). `holdOffset` keeps that message's offset uncommitted
   * until the windows are rewritten.
   */
  markDirty(match: (entry: WindowEntry) => boolean, hold?: { partition: string; offset: number }): number {
    let marked = 0;
    for (const entry of this.windows.values()) {
      if (!match(entry)) continue;
      this.markDirtyEntry(entry);
      if (hold) this.holdOffset(entry, hold.partition, hold.offset);
      marked += 1;
    }
    return marked;
  }

  /**
   * Dirty windows whose every feeding partition's watermark passed their end, or every
   * dirty one when `force` (a stop, a revoke, or a checkpoint: writing open windows lets
   * offsets be committed and raw rows leave memory long before the windows close).
   */
  due(wallNow: number, force = false): WindowEntry[] {
    const out: WindowEntry[] = [];
    const watermarks = force ? undefined : this.watermarks(wallNow);
    const highest = watermarks ? WindowEngine.highest(watermarks) : Number.POSITIVE_INFINITY;
    for (const [end, ending] of this.dirtyByEnd) {
      if (end > highest) continue;
      for (const entry of ending) if (!watermarks || this.closed(entry, watermarks)) out.push(entry);
    }
    return out.sort((a, b) => a.windowStart - b.windowStart);
  }

  private closed(entry: WindowEntry, watermarks: ReadonlyMap<string, number>): boolean {
    for (const p of entry.lastOffset.keys()) {
      if ((watermarks.get(p) ?? Number.NEGATIVE_INFINITY) < entry.windowEnd) return false;
    }
    return entry.lastOffset.size > 0 || entry.written;
  }

  /** The version the next write of this window gets: increasing, and above any stored one. */
  nextVersion(wallNow: number): number {
    this.lastVersion = Math.max(this.lastVersion + 1, wallNow * 1000);
    return this.lastVersion;
  }

  /**
   * After the rows of `entries` are stored. A write of a window still open (a
   * checkpoint, see `due(…, true)`) leaves it open: it keeps counting, and is written
   * again when it closes.
   */
  markWritten(entries: WindowEntry[], versions: number[], wallNow: number): void {
    const watermarks = this.watermarks(wallNow);
    const ends = new Set<number>();
    entries.forEach((entry, i) => {
      entry.dirty = false;
      ends.add(entry.windowEnd);
      entry.written = true;
      if (!entry.emitted && this.closed(entry, watermarks)) entry.emitted = true;
      entry.version = versions[i] ?? entry.version;
      entry.firstUnwrittenOffset = NONE_MAP;
      entry.pendingRaw = NONE_LINES;
      entry.ids.compact();
    });
    this.pruneDirty(ends);
  }

  /** Drops written windows that no event can change any more. Returns how many. */
  evict(wallNow: number): number {
    const watermarks = this.watermarks(wallNow);
    const highest = WindowEngine.highest(watermarks);
    // A window is final once every partition that fed it passed its end + the lateness:
    // ends no watermark has passed that far hold no final window.
    const ends = [...this.byEnd.keys()].filter((end) => end + this.options.allowedLatenessMs <= highest);
    let evicted = 0;
    for (const end of ends) {
      const finalAt = end + this.options.allowedLatenessMs;
      const kept: WindowEntry[] = [];
      for (const entry of this.byEnd.get(end) ?? []) {
        let final = !entry.dirty && entry.written;
        if (final) {
          for (const p of entry.lastOffset.keys()) {
            if ((watermarks.get(p) ?? Number.NEGATIVE_INFINITY) < finalAt) final = false;
          }
        }
        if (final) {
          this.windows.delete(WindowEngine.id(entry.family, entry.key, entry.windowStart));
          evicted += 1;
        } else kept.push(entry);
      }
      if (kept.length > 0) this.byEnd.set(end, kept);
      else this.byEnd.delete(end);
    }
    return evicted;
  }

  /** Per partition, the offset it is safe to commit (next to read after a crash). */
  commitSafeOffsets(): Map<string, number> {
    const safe = new Map<string, number>();
    for (const [p, clock] of this.partitions) safe.set(p, clock.lastConsumedOffset + 1);
    // Only a dirty window holds offsets not written yet.
    for (const ending of this.dirtyByEnd.values()) {
      for (const entry of ending) {
        const held = entry.firstUnwrittenOffset;
        if (held instanceof OneEntry) {
          // The usual case, without an iterator per window.
          const offset = held.value as number;
          safe.set(held.key as string, Math.min(safe.get(held.key as string) ?? offset, offset));
          continue;
        }
        for (const [p, offset] of held) safe.set(p, Math.min(safe.get(p) ?? offset, offset));
      }
    }
    return safe;
  }

  /** Forgets partitions taken away by a rebalance, with every window only they fed. */
  release(partitionIds: Iterable<string>): void {
    const gone = new Set(partitionIds);
    for (const p of gone) this.partitions.delete(p);
    const byEnd = new Map<number, WindowEntry[]>();
    for (const [id, entry] of [...this.windows]) {
      if ([...entry.lastOffset.keys()].every((p) => gone.has(p))) {
        this.windows.delete(id);
        entry.dirty = false;
        continue;
      }
      const ending = byEnd.get(entry.windowEnd);
      if (ending) ending.push(entry);
      else byEnd.set(entry.windowEnd, [entry]);
    }
    this.byEnd = byEnd;
    this.pruneDirty([...this.dirtyByEnd.keys()]);
  }

  get size(): number {
    return this.windows.size;
  }
}
