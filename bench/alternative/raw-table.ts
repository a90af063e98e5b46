import type { Store } from '../../services/shared/store/store.ts';

/**
 * The alternative a user might build instead of cxvitals: every event as one typed row
 * in ClickHouse, and the KPIs computed by SQL at read time (kpi-sql.ts). Typed columns
 * (not a JSON payload) and a ReplacingMergeTree keyed by eventId, read with FINAL, give
 * it the best fair chance: columnar scans, and a redelivered event counted once.
 */

export const ALT_TABLE = 'alt_events';

export async function createAltTable(store: Store): Promise<void> {
  await store.command(`CREATE TABLE IF NOT EXISTS ${store.table(ALT_TABLE)} (
    source LowCardinality(String),
    event_id String,
    ts DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    service LowCardinality(String),
    region LowCardinality(String),
    segment LowCardinality(String),
    attempts UInt32,
    successes UInt32,
    latency_ms Nullable(Float64),
    jitter_ms Nullable(Float64),
    packet_loss_pct Nullable(Float64),
    packets_sent Nullable(UInt32),
    throughput_kbps Nullable(Float64),
    mos Nullable(Float64),
    channel LowCardinality(String),
    queue LowCardinality(String),
    wait_sec Nullable(Float64),
    abandoned Nullable(UInt8),
    handle_sec Nullable(Float64),
    resolved Nullable(UInt8),
    transfers Nullable(UInt32),
    kind LowCardinality(String),
    score Nullable(Float64),
    sentiment Nullable(Float64)
  ) ENGINE = ReplacingMergeTree ORDER BY (service, region, ts, source, event_id)`);
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const flag = (v: unknown): number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : null);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One decoded bus record of `source` as a row of the typed table. */
export function altRow(source: string, r: Record<string, unknown>): Record<string, unknown> {
  return {
    source,
    event_id: r.eventId,
    ts: r.ts,
    received_at: r.receivedAt,
    service: text(r.service),
    region: text(r.region),
    segment: text(r.segment),
    attempts: num(r.attempts) ?? 0,
    successes: num(r.successes) ?? 0,
    latency_ms: num(r.latencyMs),
    jitter_ms: num(r.jitterMs),
    packet_loss_pct: num(r.packetLossPct),
    packets_sent: num(r.packetsSent),
    throughput_kbps: num(r.throughputKbps),
    mos: num(r.mos),
    channel: text(r.channel),
    queue: text(r.queue),
    wait_sec: num(r.waitSec),
    abandoned: flag(r.abandoned),
    handle_sec: num(r.handleSec),
    resolved: flag(r.resolved),
    transfers: num(r.transfers),
    kind: text(r.kind),
    score: num(r.score),
    sentiment: num(r.sentiment),
  };
}
