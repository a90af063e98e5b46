import { explainCsi, storedExplanation } from '../model/explain.ts';
import { scoreCsi } from '../model/score.ts';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import { Periodic } from '../shared/periodic.ts';
import type { Store } from '../shared/store/store.ts';
import { TsvRows, tsvDateTime64Ms, tsvFloat, tsvFloatMap, tsvString } from '../shared/store/tsv.ts';
import { type KpiBucket, kpiValues, readKpiBucketsByKey } from '../shared/vitals/buckets.ts';
import { kpiKeyId } from '../shared/vitals/filter.ts';
import { keysWithData, keysWrittenSince } from '../shared/vitals/written.ts';

/**
 * Stores the CSI of every (service, region, minute) with its explanation in csi_1m, as
 * windows land (every `intervalMs`, for the minutes whose KPI rows were written since
 * the last run) and on demand for a past range (`recompute`, after a model change).
 * Reads at other grains do not use these rows: they score the coarse KPIs directly.
 *
 * Keys are read in groups (`readKpiBucketsByKey`, up to `keysPerRead` at a time), so a
 * tick costs a few queries whatever the number of keys; one query per key made a tick
 * of 1,000 keys take longer than the interval.
 */

export interface MaterializerOptions {
  store: Store;
  log: Logger;
  model: () => CxModel;
  excuseRetroactive: boolean;
  intervalMs?: number;
  now?: () => number;
}

const MINUTE = 60_000;
/** Key-minutes one read returns at most (they are held in memory with their rows)... */
const MINUTES_PER_READ = 50_000;
/** ...and keys one read names at most: at 500, a tick of 100,000 keys took 280 reads. */
const MAX_KEYS_PER_READ = 5_000;
/** csi_1m rows per insert: one of 23,000 rows took longer than five of 5,000 (chDB, 10,000 keys). */
const ROWS_PER_INSERT = 5_000;

/** How many keys one read over `spanMs` takes: 5,000 over 10 minutes or less, 34 over a day. */
export const keysPerRead = (spanMs: number): number =>
  Math.max(1, Math.min(MAX_KEYS_PER_READ, Math.floor(MINUTES_PER_READ / Math.max(1, Math.ceil(spanMs / MINUTE)))));
/** How many minutes a key's read may span beyond its own (sharing a read with other keys). */
const MAX_WIDENING_MS = 15 * MINUTE;

/** A key to score, and its minutes to score: window starts in [from, until). */
interface KeyMinutes {
  service: string;
  region: string;
  from: number;
  until: number;
}

/**
 * The reads of a tick: keys sorted by the minutes they touched, each read up to
 * `keysPerRead` keys over the union of their minutes, as long as that union is at most
 * MAX_WIDENING_MS longer than any member's own span. Live traffic touches nearly the same
 * minutes everywhere (one or a few reads); keys replayed over a long range are read
 * apart instead of widening everyone's read. Each key keeps its own minutes (`score`).
 */
export function readGroups(
  touched: ReadonlyArray<{ service: string; region: string; first: number; last: number }>,
): Array<{ from: number; to: number; keys: KeyMinutes[] }> {
  const sorted = [...touched].sort((a, b) => a.first - b.first || a.last - b.last);
  const groups: Array<{ from: number; to: number; keys: KeyMinutes[]; shortest: number }> = [];
  for (const t of sorted) {
    const span = t.last - t.first;
    const key = { service: t.service, region: t.region, from: t.first, until: t.last + MINUTE };
    const g = groups.at(-1);
    if (g) {
      const from = Math.min(g.from, t.first);
      const to = Math.max(g.to, t.last + MINUTE);
      const shortest = Math.min(g.shortest, span + MINUTE);
      if (to - from - shortest <= MAX_WIDENING_MS && g.keys.length < keysPerRead(to - from)) {
        Object.assign(g, { from, to, shortest });
        g.keys.push(key);
        continue;
      }
    }
    groups.push({ from: t.first, to: t.last + MINUTE, keys: [key], shortest: span + MINUTE });
  }
  return groups.map(({ from, to, keys }) => ({ from, to, keys }));
}

/** csi_1m's columns (sql/0004_csi_windows.sql) in the order of `rows`' fields. */
export const CSI_COLUMNS = [
  'model_version',
  'model_hash',
  'service',
  'region',
  'window_start',
  'csi',
  'coverage',
  'kqi_scores',
  'explanation',
  'summary',
  'computed_at',
] as const;

export class CsiMaterializer {
  private since: number;
  private readonly now: () => number;
  private readonly periodic = new Periodic(
    () => this.tick(),
    (err) => this.o.log.error({ err }, 'CSI materializer failed; will retry'),
  );

  constructor(private readonly o: MaterializerOptions) {
    this.now = o.now ?? Date.now;
    // At start, re-score what was written in the last hour: cheap, and covers a restart.
    this.since = this.now() - 3600_000;
  }

  start(): void {
    this.periodic.start(this.o.intervalMs ?? 15_000);
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** Scores the minutes whose KPI rows were written since the last run. */
  async tick(): Promise<number> {
    const startedAt = this.now();
    const touched = await keysWrittenSince(this.o.store, this.since);
    let rows = 0;
    for (const group of readGroups(touched)) rows += await this.score(group.keys, group.from, group.to);
    this.since = startedAt - 5_000;
    return rows;
  }

  /** Re-scores every (service, region, minute) with data in [from, to) under the model in force. */
  async recompute(from: number, to: number, onProgress?: (done: number, total: number) => void): Promise<number> {
    const keys = (await keysWithData(this.o.store, { from, to })).map((k) => ({ ...k, from, until: to }));
    let rows = 0;
    const step = keysPerRead(to - from);
    for (let i = 0; i < keys.length; i += step) {
      rows += await this.score(keys.slice(i, i + step), from, to);
      onProgress?.(Math.min(i + step, keys.length), keys.length);
    }
    return rows;
  }

  /** Reads the keys over [from, to), scores each key's own minutes and stores them; returns the rows written. */
  private async score(keys: KeyMinutes[], from: number, to: number): Promise<number> {
    let rows = 0;
    const step = keysPerRead(to - from);
    for (let i = 0; i < keys.length; i += step) {
      const chunk = keys.slice(i, i + step);
      const byKey = await readKpiBucketsByKey(this.o.store, { keys: chunk, from, to, stepSec: 60 });
      const out = chunk.flatMap((k) => {
        const buckets = byKey.get(kpiKeyId(k.service, k.region)) ?? [];
        return this.rows(
          k.service,
          k.region,
          buckets.filter((b) => b.start >= k.from && b.start < k.until),
        );
      });
      for (let j = 0; j < out.length; j += ROWS_PER_INSERT) {
        await this.o.store.insert('csi_1m', new TsvRows(CSI_COLUMNS, out.slice(j, j + ROWS_PER_INSERT)));
      }
      rows += out.length;
    }
    return rows;
  }

  /**
   * csi_1m rows as TabSeparated lines (the explanation, the largest field, is JSON escaped
   * once; as row objects JSONEachRow escaped it a second time). The explanation keeps the
   * numbers of what had data (`storedExplanation`): at 10,000 keys the whole score's JSON
   * made these inserts the aggregator's largest cost.
   */
  private rows(service: string, region: string, buckets: KpiBucket[]): string[] {
    const model = this.o.model();
    const computedAt = tsvDateTime64Ms(this.now());
    const fixed = `${String(model.version)}\t${tsvString(model.hash)}\t${tsvString(service)}\t${tsvString(region)}`;
    return buckets.map((b) => {
      const score = scoreCsi(model, kpiValues(b, this.o.excuseRetroactive));
      return [
        fixed,
        tsvDateTime64Ms(b.start),
        tsvFloat(score.csi),
        tsvFloat(score.coverage),
        tsvFloatMap(Object.fromEntries(score.kqis.flatMap((k) => (k.score === null ? [] : [[k.kqi, k.score]])))),
        tsvString(JSON.stringify(storedExplanation(score))),
        tsvString(explainCsi(score)),
        computedAt,
      ].join('\t');
    });
  }
}
