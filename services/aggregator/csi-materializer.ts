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
 * Keys are read in groups (`readKpiBucketsByKey`, up to KEYS_PER_READ at a time), so a
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
const KEYS_PER_READ = 500;
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
    // Keys touched over the same minutes are read together (live traffic: nearly all of
    // them); a key replayed over a long range gets its own read instead of widening everyone's.
    const byRange = new Map<string, { from: number; to: number; keys: Array<{ service: string; region: string }> }>();
    for (const t of touched) {
      const range = { from: t.first, to: t.last + MINUTE };
      const id = `${range.from}:${range.to}`;
      const group = byRange.get(id) ?? { ...range, keys: [] };
      group.keys.push({ service: t.service, region: t.region });
      byRange.set(id, group);
    }
    let rows = 0;
    for (const group of byRange.values()) rows += await this.score(group.keys, group.from, group.to);
    this.since = startedAt - 5_000;
    return rows;
  }

  /** Re-scores every (service, region, minute) with data in [from, to) under the model in force. */
  async recompute(from: number, to: number, onProgress?: (done: number, total: number) => void): Promise<number> {
    const keys = await keysWithData(this.o.store, { from, to });
    let rows = 0;
    for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
      rows += await this.score(keys.slice(i, i + KEYS_PER_READ), from, to);
      onProgress?.(Math.min(i + KEYS_PER_READ, keys.length), keys.length);
    }
    return rows;
  }

  /** Scores the keys' minutes in [from, to) and stores them; returns the rows written. */
  private async score(keys: Array<{ service: string; region: string }>, from: number, to: number): Promise<number> {
    let rows = 0;
    for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
      const chunk = keys.slice(i, i + KEYS_PER_READ);
      const byKey = await readKpiBucketsByKey(this.o.store, { keys: chunk, from, to, stepSec: 60 });
      const out = chunk.flatMap((k) => this.rows(k.service, k.region, byKey.get(kpiKeyId(k.service, k.region)) ?? []));
      if (out.length > 0) await this.o.store.insert('csi_1m', new TsvRows(CSI_COLUMNS, out));
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
