import type { Store } from '../shared/store/store.ts';
import type { Incident, IncidentSignal, MinuteEvidence } from './incidents.ts';

/**
 * anomaly_1m and incidents (sql/0060_incidents.sql): rows in, incidents and evidence out.
 * Plain SQL with bound parameters; FINAL gives each key's newest row.
 */

export type StoredStatus = Incident['status'] | 'withdrawn';

export interface StoredIncident extends Omit<Incident, 'status'> {
  status: StoredStatus;
}

interface IncidentRow {
  id: string;
  service: string;
  region: string;
  status: StoredStatus;
  start_ms: string;
  opened_ms: string;
  resolved_ms: string | null;
  last_ms: string;
  trigger: string;
  signals: string;
  retroactive: number;
  planned_in_force: number;
  maintenance_ids: string[];
  customers_affected: string | null;
  customers_reason: string;
  version: string;
}

export function incidentRow(i: StoredIncident, computedAt: number): Record<string, unknown> {
  return {
    id: i.id,
    service: i.service,
    region: i.region,
    status: i.status,
    start: i.start,
    opened_at: i.openedAt,
    resolved_at: i.resolvedAt,
    last_anomalous: i.lastAnomalous,
    trigger: i.trigger,
    signals: JSON.stringify(i.signals),
    retroactive: i.maintenance.retroactive ? 1 : 0,
    planned_in_force: i.maintenance.plannedInForce ? 1 : 0,
    maintenance_ids: i.maintenance.ids,
    customers_affected: i.customersAffected.count,
    customers_reason: i.customersAffected.reason,
    version: i.version,
    computed_at: computedAt,
  };
}

export function anomalyRows(service: string, region: string, m: MinuteEvidence, computedAt: number): Record<string, unknown>[] {
  return m.scores.map((x) => ({
    service,
    region,
    window_start: m.minute,
    signal: x.signal,
    value: x.value,
    events: x.count,
    baseline: x.baseline,
    spread: x.spread,
    baseline_kind: x.baselineKind,
    baseline_samples: x.baselineSamples,
    score: x.score,
    anomalous: x.anomalous ? 1 : 0,
    reason: x.reason,
    computed_at: computedAt,
  }));
}

const COLUMNS = `id, service, region, status, toUnixTimestamp64Milli(start) AS start_ms, toUnixTimestamp64Milli(opened_at) AS opened_ms,
  toUnixTimestamp64Milli(resolved_at) AS resolved_ms, toUnixTimestamp64Milli(last_anomalous) AS last_ms, trigger, signals,
  retroactive, planned_in_force, maintenance_ids, customers_affected, customers_reason, version`;

function fromRow(r: IncidentRow): StoredIncident {
  return {
    id: r.id,
    service: r.service,
    region: r.region,
    status: r.status,
    start: Number(r.start_ms),
    openedAt: Number(r.opened_ms),
    resolvedAt: r.resolved_ms === null ? null : Number(r.resolved_ms),
    lastAnomalous: Number(r.last_ms),
    trigger: r.trigger,
    signals: JSON.parse(r.signals) as IncidentSignal[],
    maintenance: { retroactive: r.retroactive === 1, plannedInForce: r.planned_in_force === 1, ids: r.maintenance_ids },
    customersAffected: { count: r.customers_affected === null ? null : Number(r.customers_affected), reason: r.customers_reason },
    version: Number(r.version),
  };
}

export interface IncidentFilter {
  service?: string | undefined;
  region?: string | undefined;
  status?: 'open' | 'resolved' | undefined;
  /** Incidents active at some time in [from, to): started before `to`, not resolved before `from`. */
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
}

/** Incidents newest first (withdrawn ones left out). */
export async function readIncidents(store: Store, f: IncidentFilter): Promise<StoredIncident[]> {
  const rows = await store.query<IncidentRow>(
    `SELECT ${COLUMNS} FROM ${store.table('incidents')} FINAL
     WHERE status != 'withdrawn'
       AND ({anyService:UInt8} = 1 OR service = {service:String})
       AND ({anyRegion:UInt8} = 1 OR region = {region:String})
       AND ({anyStatus:UInt8} = 1 OR status = {status:String})
       AND start < fromUnixTimestamp64Milli({to:Int64})
       AND (resolved_at IS NULL OR resolved_at > fromUnixTimestamp64Milli({from:Int64}))
     ORDER BY start DESC, id LIMIT {limit:UInt32}`,
    {
      anyService: f.service === undefined ? 1 : 0,
      service: f.service ?? '',
      anyRegion: f.region === undefined ? 1 : 0,
      region: f.region ?? '',
      anyStatus: f.status === undefined ? 1 : 0,
      status: f.status ?? '',
      from: Math.floor(f.from ?? 0),
      to: Math.ceil(f.to ?? 7_258_118_400_000),
      limit: f.limit,
    },
  );
  return rows.map(fromRow);
}

export async function readIncident(store: Store, id: string): Promise<StoredIncident | undefined> {
  const [row] = await store.query<IncidentRow>(
    `SELECT ${COLUMNS} FROM ${store.table('incidents')} FINAL WHERE id = {id:String} AND status != 'withdrawn'`,
    { id },
  );
  return row ? fromRow(row) : undefined;
}

/** Incident rows written after `since` (ms), oldest first, with when each was written: what the live stream sends. */
export async function readChangedSince(
  store: Store,
  since: number,
): Promise<Array<{ incident: StoredIncident; computedAt: number }>> {
  const rows = await store.query<IncidentRow & { computed_ms: string }>(
    `SELECT ${COLUMNS}, toUnixTimestamp64Milli(computed_at) AS computed_ms FROM ${store.table('incidents')}
     WHERE computed_at > fromUnixTimestamp64Milli({since:Int64}) ORDER BY computed_at, id, version LIMIT 1000`,
    { since: Math.floor(since) },
  );
  return rows.map((r) => ({ incident: fromRow(r), computedAt: Number(r.computed_ms) }));
}

export interface TimelinePoint {
  minute: string;
  signals: Record<
    string,
    {
      value: number | null;
      baseline: number | null;
      spread: number | null;
      score: number | null;
      anomalous: boolean;
      reason: string;
    }
  >;
}

/** Every signal's stored score per minute of [from, to) for one key: an incident's evidence. */
export async function readTimeline(
  store: Store,
  key: { service: string; region: string },
  from: number,
  to: number,
): Promise<TimelinePoint[]> {
  const rows = await store.query<{
    minute: string;
    signal: string;
    value: number | null;
    baseline: number | null;
    spread: number | null;
    score: number | null;
    anomalous: number;
    reason: string;
  }>(
    `SELECT toUnixTimestamp64Milli(window_start) AS minute, signal, value, baseline, spread, score, anomalous, reason
     FROM ${store.table('anomaly_1m')} FINAL
     WHERE service = {service:String} AND region = {region:String}
       AND window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})
     ORDER BY minute, signal`,
    { service: key.service, region: key.region, from: Math.floor(from), to: Math.ceil(to) },
  );
  const out = new Map<number, TimelinePoint>();
  for (const r of rows) {
    const minute = Number(r.minute);
    let p = out.get(minute);
    if (!p) {
      p = { minute: new Date(minute).toISOString(), signals: {} };
      out.set(minute, p);
    }
    p.signals[r.signal] = {
      value: r.value,
      baseline: r.baseline,
      spread: r.spread,
      score: r.score,
      anomalous: Number(r.anomalous) === 1,
      reason: r.reason,
    };
  }
  return [...out.values()];
}
