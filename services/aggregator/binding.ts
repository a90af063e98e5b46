import type { SourceName } from '../shared/sources/registry.ts';
import type { Family } from './engine.ts';
import type { MaintenanceRegistry } from './maintenance-registry.ts';

/**
 * How one KPI family is wired into the aggregator: which source feeds it, how an event
 * picks its window key, and how window state maps to and from its ClickHouse row.
 * Adding a KPI family is one binding (a file under families/) and one line in
 * families/index.ts.
 */

export interface RowMeta {
  version: number;
  busEpoch: string;
  /** The one source partition (`topic:partition`) that fed the window, or ''. */
  partition: string;
  /** Largest offset of that partition the row counts, or -1. */
  lastOffset: number;
}

export interface RowContext {
  maintenance: MaintenanceRegistry;
}

/** What every window row carries besides its family's columns (see sql/). */
export interface StoredRowMeta {
  ws: string | number;
  version: string | number;
  bus_epoch: string;
  source_partition: string | number;
  last_offset: string | number;
}

export interface WindowBinding<R extends { eventId: string; ts: number; service: string; region: string }, S> {
  source: SourceName;
  family: Family<R, S>;
  table: string;
  /** The window key of an event: its dimension values joined (see keyColumns). */
  keyOf(record: R): string;
  /** Columns of the key, in the order keyOf joins them. */
  keyColumns: readonly string[];
  /** Columns with one value for every row of this binding (e.g. `family` in kpi_1m). */
  fixedColumns?: Readonly<Record<string, string>>;
  toRow(state: S, windowStart: number, meta: RowMeta, context: RowContext): Record<string, unknown>;
  fromRow(row: Record<string, unknown>): S;
}

export const KEY_SEPARATOR = '\u001f';

export const joinKey = (values: readonly string[]): string => values.join(KEY_SEPARATOR);
export const splitKey = (key: string): string[] => key.split(KEY_SEPARATOR);

// biome-ignore lint/suspicious/noExplicitAny: bindings of different record and state types live in one list
export type AnyBinding = WindowBinding<any, any>;
