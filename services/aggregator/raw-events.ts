/** The fields every windowed record has (every source but maintenance). */
export interface WindowedRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment?: string | null;
}

/** One row of raw_events (sql/0002_raw_events.sql). */
export function rawEventRow(source: string, record: WindowedRecord): Record<string, unknown> {
  return {
    source,
    event_id: record.eventId,
    service: record.service,
    region: record.region,
    segment: record.segment ?? '',
    ts: record.ts,
    received_at: record.receivedAt,
    payload: JSON.stringify(record),
  };
}
