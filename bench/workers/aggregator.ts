import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import { CsiMaterializer } from '../../services/aggregator/csi-materializer.ts';
import { bindings } from '../../services/aggregator/families/index.ts';
import { loadModel } from '../../services/model/index.ts';
import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import { readKpiBuckets } from '../../services/shared/vitals/buckets.ts';
import { CountingBus } from '../lib/counting-bus.ts';
import { type Span, sample, span } from '../lib/cpu.ts';
import { type ProfileSummary, startProfile } from '../lib/profile.ts';
import { benchBus, benchConfig, benchLog, freshStore, uniqueGroup } from '../lib/setup.ts';
import { TimingStore } from '../lib/timing-store.ts';

/**
 * The aggregator, as the product runs it (services/aggregator/aggregator.ts with every
 * KPI family and the default window settings), over the preloaded stream into a fresh
 * chDB: decode, windows, KPI rows and raw events written, offsets committed; then every
 * open window flushed and the CSI of every (service, region, minute) materialised. The
 * clock runs from the first batch to the last CSI row written; the stored totals are
 * checked against the stream before the figure counts.
 */

export interface AggregatorRun extends Span {
  /** The stored raw events and probe samples equal what was sent. */
  verified: boolean;
  detail: string;
  csiRows: number;
  windowRows: number;
  /** Reading one key's KPIs for the whole span from the aggregates, ms. */
  readMs: number;
  /** Wall time the aggregator waited on ClickHouse inserts, per table, during the measured span. */
  inserts: Array<{ table: string; ms: number; rows: number; statements?: number }>;
  queryMs: number;
  profile?: ProfileSummary;
}

export async function run(p: {
  brokers: string;
  client: KafkaClientKind;
  expected: number;
  probeEvents: number;
  span: { from: number; to: number };
  readKey: { service: string; region: string };
  profile?: boolean;
  /** Ablation: skip the inserts into these tables (e.g. raw_events) to show what they cost. */
  dropTables?: string[];
}): Promise<AggregatorRun> {
  const log = benchLog();
  const fresh = await freshStore('aggregator', log);
  const dropped = new Set(p.dropTables ?? []);
  const store = new TimingStore(fresh.store, dropped);
  const dataDir = fresh.dataDir;
  const config = benchConfig({ CXV_DATA_DIR: dataDir });
  const bus = new CountingBus(benchBus(p.client, p.brokers, log), p.expected);
  const metrics = createMetrics();
  const model = await loadModel(config.model.file, { extraKpis: declaredKpis() });
  const aggregator = new Aggregator({
    bus,
    store,
    metrics,
    log,
    windows: config.windows,
    busEpoch: `bench-${randomUUID()}`,
    groupId: uniqueGroup('aggregator'),
    bindings: bindings(),
  });
  const csi = new CsiMaterializer({ store, log, model: () => model, excuseRetroactive: false });
  await aggregator.start();
  store.reset();
  const profiling = p.profile ? await waitFirstBatch(bus).then(() => startProfile()) : undefined;
  await bus.done;
  // Everything still open is written now (as on a clean stop), then the CSI rows.
  await aggregator.flush(true);
  const csiRows = await csi.tick();
  const end = sample();
  const profile = await profiling?.stop();
  const figure = span(bus.handled, bus.first ?? end, end);
  const inserts = store.inserts();
  const queryMs = store.queryMs;

  const [raw] = await store.query<{ n: string }>(`SELECT uniqExact(source, event_id) AS n FROM ${store.table('raw_events')}`);
  const [probe] = await store.query<{ n: string; rows: string }>(
    `SELECT sum(samples) AS n, count() AS rows FROM ${store.table('probe_kpi_1m')} FINAL`,
  );
  const [kpi] = await store.query<{ rows: string }>(`SELECT count() AS rows FROM ${store.table('kpi_1m')} FINAL`);
  const verified = (dropped.has('raw_events') || Number(raw?.n) === p.expected) && Number(probe?.n) === p.probeEvents;
  const readStarted = performance.now();
  await readKpiBuckets(store, {
    services: [p.readKey.service],
    region: p.readKey.region,
    segment: undefined,
    from: p.span.from,
    to: p.span.to,
    stepSec: 60,
  });
  const readMs = performance.now() - readStarted;
  await aggregator.stop();
  await bus.close();
  await store.close();
  return {
    ...figure,
    verified,
    detail: `raw events ${raw?.n}/${p.expected}, probe samples ${probe?.n}/${p.probeEvents}`,
    csiRows,
    windowRows: Number(probe?.rows) + Number(kpi?.rows),
    readMs,
    inserts,
    queryMs,
    ...(profile ? { profile } : {}),
  };
}

async function waitFirstBatch(bus: CountingBus): Promise<void> {
  while (!bus.first) await sleep(5);
}
