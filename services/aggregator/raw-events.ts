import { TsvRows, tsvDateTime64Ms, tsvString } from '../shared/store/tsv.ts';

/** The fields every windowed record has (every source but maintenance). */
export interface WindowedRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment?: string | null;
}

/** raw_events' columns (sql/0002_raw_events.sql) in the order of `rawEventLine`'s fields; stored_at is the table's default. */
export const RAW_EVENT_COLUMNS = ['source', 'event_id', 'service', 'region', 'segment', 'ts', 'received_at', 'payload'] as const;

/**
 * One row of raw_events as a TabSeparated line, built once when the event is counted and
 * kept as one string until its window is written (no object per row, the payload's JSON
 * escaped once).
 */
export function rawEventLine(source: string, record: WindowedRecord): string {
  return [
    tsvString(source),
    tsvString(record.eventId),
    tsvString(record.service),
    tsvString(record.region),
    tsvString(record.segment ?? ''),
    tsvDateTime64Ms(record.ts),
    tsvDateTime64Ms(record.receivedAt),
    tsvString(JSON.stringify(record)),
  ].join('\t');
}

/** The raw_events insert of a flush. */
export function rawEventRows(lines: readonly string[]): TsvRows {
  return new TsvRows(RAW_EVENT_COLUMNS, lines);
}
