import { kpiValues, readKpiBuckets } from '../api/kpis.ts';
import { explainCsi } from '../model/explain.ts';
import { scoreCsi } from '../model/score.ts';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import type { Store } from '../shared/store/store.ts';

/**
 * Stores the CSI of every (service, region, minute) with its explanation in csi_1m, as
 * windows land (every `intervalMs`, for the minutes whose KPI rows were written since
 * the last run) and on demand for a past range (`recompute`, after a model change).
 * Reads at other grains do not use these rows: they score the coarse KPIs directly.
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

export class CsiMaterializer {
  private timer: NodeJS.Timeout | undefined;
  private since: number;
  private running: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: MaterializerOptions) {
    this.now = o.now ?? Date.now;
    // At start, re-score what was written in the last hour: cheap, and covers a restart.
    this.since = this.now() - 3600_000;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running
        .then(async () => {
          await this.tick();
        })
        .catch((err) => this.o.log.error({ err }, 'CSI materializer failed; will retry'));
    }, this.o.intervalMs ?? 15_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Scores the minutes whose KPI rows were written since the last run. */
  async tick(): Promise<number> {
    const startedAt = this.now();
    const touched = await this.o.store.query<{ service: string; region: string; first: string; last: string }>(
      `SELECT service, region, toUnixTimestamp64Milli(min(window_start)) AS first, toUnixTimestamp64Milli(max(window_start)) AS last
       FROM (SELECT service, region, window_start FROM ${this.o.store.table('kpi_1m')} WHERE written_at >= fromUnixTimestamp64Milli({since:Int64})
             UNION ALL
             SELECT service, region, window_start FROM ${this.o.store.table('probe_kpi_1m')} WHERE written_at >= fromUnixTimestamp64Milli({since:Int64}))
       GROUP BY service, region`,
      { since: this.since },
    );
    let rows = 0;
    for (const t of touched) rows += await this.score(t.service, t.region, Number(t.first), Number(t.last) + MINUTE);
    this.since = startedAt - 5_000;
    return rows;
  }

  /** Re-scores every (service, region, minute) with data in [from, to) under the model in force. */
  async recompute(from: number, to: number, onProgress?: (done: number, total: number) => void): Promise<number> {
    const keys = await this.o.store.query<{ service: string; region: string }>(
      `SELECT DISTINCT service, region FROM (
         SELECT service, region FROM ${this.o.store.table('kpi_1m')}
         WHERE window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})
         UNION ALL
         SELECT service, region FROM ${this.o.store.table('probe_kpi_1m')}
         WHERE window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64}))
       ORDER BY service, region`,
      { from, to },
    );
    let rows = 0;
    for (const [i, k] of keys.entries()) {
      rows += await this.score(k.service, k.region, from, to);
      onProgress?.(i + 1, keys.length);
    }
    return rows;
  }

  private async score(service: string, region: string, from: number, to: number): Promise<number> {
    const model = this.o.model();
    const buckets = await readKpiBuckets(this.o.store, {
      services: [service],
      region,
      segment: undefined,
      from,
      to,
      stepSec: 60,
    });
    const computedAt = this.now();
    const rows = buckets.map((b) => {
      const score = scoreCsi(model, kpiValues(b, this.o.excuseRetroactive));
      return {
        model_version: model.version,
        model_hash: model.hash,
        service,
        region,
        window_start: b.start,
        csi: score.csi,
        coverage: score.coverage,
        kqi_scores: Object.fromEntries(score.kqis.flatMap((k) => (k.score === null ? [] : [[k.kqi, k.score]]))),
        explanation: JSON.stringify({ contributions: score.contributions, kqis: score.kqis }),
        summary: explainCsi(score),
        computed_at: computedAt,
      };
    });
    await this.o.store.insert('csi_1m', rows);
    return rows.length;
  }
}
