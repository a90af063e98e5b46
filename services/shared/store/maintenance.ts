import type { MaintenanceWindow } from '../kpi/availability.ts';
import type { Store } from './store.ts';

/** Which declarations to read: those of one service (one region or all) overlapping [fromMs, toMs). */
export interface MaintenanceFilter {
  service: string;
  /** Absent: every region. Declarations for every region (stored region '') always match. */
  region?: string;
  fromMs: number;
  toMs: number;
}

/**
 * The stored maintenance declarations, newest version of each id (FINAL), in start order.
 * Without a filter, all of them: the aggregator loads these at start; the Availability
 * read takes those overlapping its range.
 */
export async function readMaintenanceWindows(
  store: Store,
  f?: MaintenanceFilter,
): Promise<Array<MaintenanceWindow & { description: string }>> {
  const where = f
    ? `WHERE service = {service:String} AND ({anyRegion:UInt8} = 1 OR region = '' OR region = {region:String})
         AND start_at < fromUnixTimestamp64Milli({to:Int64}) AND end_at > fromUnixTimestamp64Milli({from:Int64})`
    : '';
  const params = f
    ? { service: f.service, region: f.region ?? '', anyRegion: f.region === undefined ? 1 : 0, from: f.fromMs, to: f.toMs }
    : {};
  const rows = await store.query<{
    maintenance_id: string;
    service: string;
    region: string;
    start_ms: string;
    end_ms: string;
    declared_ms: string;
    received_ms: string;
    description: string;
  }>(
    `SELECT maintenance_id, service, region, toUnixTimestamp64Milli(start_at) AS start_ms,
            toUnixTimestamp64Milli(end_at) AS end_ms, toUnixTimestamp64Milli(declared_at) AS declared_ms,
            toUnixTimestamp64Milli(received_at) AS received_ms, description
     FROM ${store.table('maintenance_windows')} FINAL
     ${where}
     ORDER BY start_at, maintenance_id`,
    params,
  );
  return rows.map((r) => ({
    maintenanceId: r.maintenance_id,
    service: r.service,
    region: r.region === '' ? null : r.region,
    startMs: Number(r.start_ms),
    endMs: Number(r.end_ms),
    declaredAtMs: Number(r.declared_ms),
    receivedAtMs: Number(r.received_ms),
    description: r.description,
  }));
}
