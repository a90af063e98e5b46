import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { addProbe, emptyProbe } from '../../services/families/probe/accumulator.ts';
import { loadModel } from '../../services/model/load.ts';
import { flatten } from '../../services/shared/kpi/flatten.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type QueryParams } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';
import type { KpiFilter } from '../../services/shared/vitals/filter.ts';
import { readCsiSeries, readKpiSeries, readKqiSeries } from '../../services/shared/vitals/reads.ts';
import { rollUpDays } from '../../services/shared/vitals/rollup.ts';
import { altKpis } from '../alternative/kpi-sql.ts';
import { ALT_TABLE, createAltTable } from '../alternative/raw-table.ts';

/**
 * Reads over a quarter with millions of events stored: one service's KPIs, KQIs and CSI
 * at step=1d over 90 days, from the aggregates (kpi_1m, probe_kpi_1m through the read
 * model the API uses) and by the alternative's SQL over the raw rows, side by side in one
 * process (embedded chDB).
 *
 * The data is written straight into the store, not through Kafka: probe results only
 * (the family with the most rows), `perMinute` per (service, region) and minute. Event n
 * has attempts 1, success unless n % 50 = 0, latency 10 + n % 90 ms; the raw rows are
 * made by ClickHouse from numbers(), the window rows by the model's own accumulators
 * from the same formula, so both sides must agree on every day's Serviceability.
 *
 * The pipeline's reads are timed twice: over the one-minute rows, then after the days are
 * rolled up (kpi_1d, probe_kpi_1d: what the aggregator's rollup job writes once days
 * settle), and must give the same values.
 */

/** Each query's table and wall time: where one read's time goes. */
class QueryLog extends StoreWrapper {
  entries: Array<{ table: string; ms: number }> = [];
  override async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    const started = performance.now();
    try {
      return await this.inner.query<T>(sql, params);
    } finally {
      const table = /FROM\s+[\w]+\.(\w+)/.exec(sql)?.[1] ?? '?';
      this.entries.push({ table, ms: performance.now() - started });
    }
  }
}

const DAY = 86_400_000;
const MINUTE = 60_000;

export interface ReadScaleRun {
  events: number;
  days: number;
  regions: number;
  windowRows: number;
  generateSec: { raw: number; windows: number };
  /** Rolling the 90 days up into kpi_1d / probe_kpi_1d (what the aggregator's rollup job does once days settle). */
  rollupSec: number;
  /** Median ms of `rounds` reads each, with the days rolled up (what a running pipeline serves). */
  pipeline: { kpisMs: number; kqisMs: number; csiMs: number };
  /** The same reads before the rollup: every one-minute row of the quarter summed. */
  oneMinute: { kpisMs: number; kqisMs: number; csiMs: number };
  alternative: { kpisMs: number };
  /** The last round's CSI read (rolled up), query by query (table, wall ms). */
  csiQueries: Array<{ table: string; ms: number }>;
  /** Day 1's Serviceability from both sides (equal, or the run is not a comparison). */
  check: { pipeline: number | null; alternative: number | null };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await work();
  return { ms: performance.now() - t, value };
}

export async function run(p: { events: number; days: number; regions: number; rounds: number }): Promise<ReadScaleRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-bench-scale-'));
  const store = await openStore({ mode: 'embedded', dataDir: dir, database: 'cxv_scale', log: silentLogger });
  try {
    await migrate(store, silentLogger);
    await createAltTable(store);
    const model = await loadModel(undefined, { extraKpis: declaredKpis() });
    const minutes = p.days * 1440;
    const perMinute = Math.max(1, Math.ceil(p.events / (minutes * p.regions)));
    const events = minutes * p.regions * perMinute;
    const start = Date.UTC(2026, 0, 1);
    const service = 'broadband';

    // Raw rows: event n is minute floor(n / (regions · perMinute)), region floor(n / perMinute) % regions.
    const rawStarted = performance.now();
    const chunk = 2_000_000;
    for (let from = 0; from < events; from += chunk) {
      const count = Math.min(chunk, events - from);
      await store.command(
        `INSERT INTO ${store.table(ALT_TABLE)} (source, event_id, ts, received_at, service, region, segment, attempts, successes, latency_ms)
         SELECT 'probe', toString(n), fromUnixTimestamp64Milli(ts_ms), fromUnixTimestamp64Milli(ts_ms), {service:String},
                concat('region-', toString(intDiv(n, {perMinute:UInt64}) % {regions:UInt64})), '',
                1, if(n % 50 = 0, 0, 1), 10 + n % 90
         FROM (SELECT number + {from:UInt64} AS n,
                      toInt64({start:Int64} + intDiv(n, {regions:UInt64} * {perMinute:UInt64}) * 60000
                              + (n % {perMinute:UInt64}) * intDiv(60000, {perMinute:UInt64})) AS ts_ms
               FROM numbers({count:UInt64}))`,
        { service, perMinute, regions: p.regions, from, count, start },
      );
    }
    const rawSec = (performance.now() - rawStarted) / 1000;

    // Window rows from the same events, through the model's accumulators.
    const windowsStarted = performance.now();
    let windowRows = 0;
    let kpiRows: object[] = [];
    let probeRows: object[] = [];
    const flushRows = async () => {
      await store.insert('kpi_1m', kpiRows);
      await store.insert('probe_kpi_1m', probeRows);
      kpiRows = [];
      probeRows = [];
    };
    for (let m = 0; m < minutes; m += 1) {
      for (let r = 0; r < p.regions; r += 1) {
        const acc = emptyProbe();
        const first = (m * p.regions + r) * perMinute;
        for (let i = 0; i < perMinute; i += 1) {
          const n = first + i;
          addProbe(acc, {
            attempts: 1,
            successes: n % 50 === 0 ? 0 : 1,
            latencyMs: 10 + (n % 90),
            jitterMs: null,
            packetLossPct: null,
            packetsSent: null,
            throughputKbps: null,
            mos: null,
          });
        }
        const meta = { version: 1, bus_epoch: 'bench', source_partition: '', last_offset: -1 };
        const dims = { service, region: `region-${r}`, origin: 'network', window_start: start + m * MINUTE };
        kpiRows.push({ family: 'probe', ...dims, segment: '', channel: '', queue: '', sums: flatten(acc), ...meta });
        probeRows.push({
          ...dims,
          samples: acc.samples,
          attempts: acc.availability.attempts,
          successes: acc.availability.successes,
          planned_attempts: 0,
          planned_successes: 0,
          retro_attempts: 0,
          retro_successes: 0,
          ...meta,
        });
        windowRows += 2;
      }
      if (kpiRows.length >= 50_000) await flushRows();
    }
    await flushRows();
    const windowsSec = (performance.now() - windowsStarted) / 1000;
    await store.command(`OPTIMIZE TABLE ${store.table('kpi_1m')} FINAL`);
    await store.command(`OPTIMIZE TABLE ${store.table('probe_kpi_1m')} FINAL`);
    await store.command(`OPTIMIZE TABLE ${store.table(ALT_TABLE)} FINAL`);

    const range = { from: start, to: start + p.days * DAY };
    const f: KpiFilter = { services: [service], region: undefined, segment: undefined, ...range, stepSec: 86_400 };
    const o = { excuseRetroactive: false };
    const logged = new QueryLog(store);
    let check: ReadScaleRun['check'] = { pipeline: null, alternative: null };
    const rounds = async (withAlternative: boolean) => {
      const samples = { kpis: [] as number[], kqis: [] as number[], csi: [] as number[], alt: [] as number[] };
      for (let round = 0; round < p.rounds; round += 1) {
        if (withAlternative) {
          // Every region of the service on both sides: the alternative's SQL is per region, so one query per region.
          const alt = await timed(async () => {
            const perRegion = [];
            for (let r = 0; r < p.regions; r += 1)
              perRegion.push(await altKpis(store, { service, region: `region-${r}`, ...range, stepSec: 86_400 }));
            return perRegion;
          });
          samples.alt.push(alt.ms);
          const day1 = alt.value.map((buckets) => buckets[0]);
          const attempts = day1.reduce((sum, b) => sum + (b?.samples ?? 0), 0);
          const successesRate = day1.reduce((sum, b) => sum + Number(b?.kpis.serviceability ?? 0) * (b?.samples ?? 0), 0);
          check = { ...check, alternative: attempts > 0 ? successesRate / attempts : null };
        }
        const kpis = await timed(() => readKpiSeries(store, f, o));
        const kqis = await timed(() => readKqiSeries(store, model, f, o));
        logged.entries = [];
        const csi = await timed(() => readCsiSeries(logged, model, f, o));
        samples.kpis.push(kpis.ms);
        samples.kqis.push(kqis.ms);
        samples.csi.push(csi.ms);
        const pipeline = (kpis.value[0]?.kpis as Record<string, number | null> | undefined)?.serviceability ?? null;
        // Both reads of the pipeline (before and after the rollup) must give the same day 1.
        if (check.pipeline !== null && pipeline !== check.pipeline)
          throw new Error(`day 1 Serviceability ${pipeline} after the rollup, ${check.pipeline} before`);
        check = { ...check, pipeline };
      }
      return samples;
    };
    const before = await rounds(true);
    const rollupStarted = performance.now();
    await rollUpDays(store, { now: range.to + DAY, settleMs: 3_600_000 });
    const rollupSec = (performance.now() - rollupStarted) / 1000;
    const after = await rounds(false);
    return {
      events,
      days: p.days,
      regions: p.regions,
      windowRows,
      generateSec: { raw: rawSec, windows: windowsSec },
      rollupSec,
      pipeline: { kpisMs: median(after.kpis), kqisMs: median(after.kqis), csiMs: median(after.csi) },
      oneMinute: { kpisMs: median(before.kpis), kqisMs: median(before.kqis), csiMs: median(before.csi) },
      alternative: { kpisMs: median(before.alt) },
      csiQueries: logged.entries,
      check,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
