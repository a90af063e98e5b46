import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';
import { type LandedRow, landedSince, newestLanded } from '../shared/vitals/written.ts';

export type { LandedRow };

/**
 * Watches ClickHouse for window rows as they land (`written_at`), whichever process wrote
 * them, and tells subscribers (the dashboard's server-sent events) about each batch. It
 * also measures how long windows take to land: the first row of a window key written
 * after the window's event-time end, minus that end, goes into
 * cxv_window_close_delay_seconds (rows written before the end are the aggregator's
 * checkpoints of an open window: its count so far, not its landing). A rewrite of a
 * window (late events) is not a landing: the watcher remembers the keys it has seen for
 * `seenHorizonMs` of event time (seeded from the store at start), which must exceed the
 * allowed lateness. Only windows that end after the watcher started are timed: history
 * replayed into an empty store (the simulator's seed, a backfill) is not a live delay.
 * Old windows that land later (a pipeline catching up) are timed, and their long
 * delays are real.
 */

export interface LandedWindows {
  /** Rows that landed since the previous notice (new windows and new versions). */
  rows: number;
  /** Windows seen for the first time. */
  newWindows: number;
  /** Services touched, alphabetical (capped at 50). */
  services: string[];
  newestWindowEnd: number | null;
  lastWrittenAt: number | null;
}

export interface FreshnessStatus {
  newestWindowEnd: number | null;
  lastWrittenAt: number | null;
}

export interface LandingWatcherOptions {
  store: Store;
  metrics: Metrics;
  log: Logger;
  pollMs?: number;
  seenHorizonMs?: number;
  now?: () => number;
}

const MINUTE = 60_000;
/** Rows written this close to the previous poll are read again: written_at comes from the store's clock. */
const OVERLAP_MS = 5_000;
const MAX_ROWS_PER_POLL = 50_000;
/** Polls look at windows starting at most this long ago. */
const POLL_WINDOW_HORIZON_MS = 2 * 3_600_000;

export class LandingWatcher {
  private readonly subscribers = new Set<(landed: LandedWindows) => void>();
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;
  private since = 0;
  private status: FreshnessStatus = { newestWindowEnd: null, lastWrittenAt: null };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private started = false;
  private busy = false;
  /** Windows that ended before this were history when the watcher started: their landing is not timed. */
  private watchingSince = Number.POSITIVE_INFINITY;

  constructor(private readonly o: LandingWatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  get freshness(): FreshnessStatus {
    return { ...this.status };
  }

  subscribe(listener: (landed: LandedWindows) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.watchingSince = this.now();
    await this.seed();
    this.timer = setInterval(() => {
      // A slow store skips polls instead of queueing them: the next poll covers the gap.
      if (this.busy) return;
      this.busy = true;
      this.running = this.poll()
        .catch((err) => this.o.log.warn({ err }, 'window landing poll failed; retrying at the next poll'))
        .finally(() => {
          this.busy = false;
        });
    }, this.o.pollMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.subscribers.clear();
    await this.running;
  }

  private horizon(): number {
    return this.o.seenHorizonMs ?? 30 * MINUTE;
  }

  /** The rows written after `since` (both window tables), one per key and window, with its newest write and its landing. */
  private landedSince(since: number, minWindowStart: number | null): Promise<LandedRow[]> {
    return landedSince(this.o.store, since, minWindowStart, MAX_ROWS_PER_POLL);
  }

  /** Remembers the keys already stored (so their rewrites are not landings) and the freshness so far. */
  private async seed(): Promise<void> {
    const now = this.now();
    const rows = await this.landedSince(0, now - this.horizon());
    for (const r of rows) {
      // Only landed windows: one known only from checkpoints still lands (and is timed) later.
      if (Number(r.landed) >= Number(r.ws) + MINUTE)
        this.seen.set(`${r.family}\u0000${r.service}\u0000${r.k}\u0000${r.ws}`, Number(r.ws));
    }
    const fresh = await newestLanded(this.o.store, now + 10 * MINUTE);
    if (fresh && fresh.n > 0) {
      this.status = { newestWindowEnd: fresh.newest + MINUTE, lastWrittenAt: fresh.written };
      this.exportFreshness();
    }
    this.since = now - OVERLAP_MS;
  }

  /** One poll: observes first landings, updates freshness, notifies subscribers. Public for tests. */
  async poll(): Promise<LandedWindows | undefined> {
    const now = this.now();
    // Bounded by event time as well as written_at, so a large table is not scanned every poll
    // (the order key's low-cardinality prefix lets ClickHouse skip old granules). Rewrites of
    // older windows (a backfill) are not announced; the page's periodic refresh shows them.
    const rows = await this.landedSince(this.since, now - POLL_WINDOW_HORIZON_MS);
    if (rows.length >= MAX_ROWS_PER_POLL) {
      this.o.log.warn({ rows: rows.length }, 'window landing poll hit its row cap: some landings were not counted');
    }
    this.since = now - OVERLAP_MS;
    for (const [k, ws] of this.seen) if (ws < now - this.horizon()) this.seen.delete(k);
    let newWindows = 0;
    let rowsAfterLast = 0;
    const services = new Set<string>();
    const previousWritten = this.status.lastWrittenAt ?? 0;
    for (const r of rows) {
      const ws = Number(r.ws);
      const written = Number(r.written);
      const id = `${r.family}\u0000${r.service}\u0000${r.k}\u0000${r.ws}`;
      if (written > previousWritten) rowsAfterLast += 1;
      // A row written before its window ended is a checkpoint of an open window (its count
      // so far): news for the page, but not the window landing, and not freshness.
      const landedAt = Number(r.landed);
      const ended = landedAt >= ws + MINUTE;
      if (ended && !this.seen.has(id)) {
        this.seen.set(id, ws);
        newWindows += 1;
        if (ws + MINUTE >= this.watchingSince) {
          this.o.metrics.windowCloseDelay.observe({ family: r.family }, Math.max(0, (landedAt - (ws + MINUTE)) / 1000));
        }
      }
      // A row re-read through the overlap is not news.
      if (written <= previousWritten) continue;
      services.add(r.service);
      if (ended && ws + MINUTE <= now + 10 * MINUTE) {
        this.status.newestWindowEnd = Math.max(this.status.newestWindowEnd ?? 0, ws + MINUTE);
      }
      this.status.lastWrittenAt = Math.max(this.status.lastWrittenAt ?? 0, written);
    }
    if (rowsAfterLast === 0 && newWindows === 0) return undefined;
    this.exportFreshness();
    const landed: LandedWindows = {
      rows: rowsAfterLast,
      newWindows,
      services: [...services].sort().slice(0, 50),
      ...this.status,
    };
    for (const listener of this.subscribers) listener(landed);
    return landed;
  }

  private exportFreshness(): void {
    if (this.status.lastWrittenAt !== null) this.o.metrics.windowLastWritten.set(this.status.lastWrittenAt / 1000);
    if (this.status.newestWindowEnd !== null) this.o.metrics.windowNewestEnd.set(this.status.newestWindowEnd / 1000);
  }
}
