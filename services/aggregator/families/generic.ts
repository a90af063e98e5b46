import { flatten, unflatten } from '../../shared/kpi/flatten.ts';
import { subtractAccumulator } from '../../shared/kpi/subtract.ts';
import { joinKey, splitKey, type WindowBinding } from '../binding.ts';

/**
 * A KPI family stored in kpi_1m: an accumulator of additive numbers and sketches per
 * (service, region, segment, channel, queue, origin) window. A family declares its dimensions,
 * its empty accumulator and how one record adds to it; storage, rollups and recovery
 * are shared.
 */

export const KPI_TABLE = 'kpi_1m';
export const KPI_KEY_COLUMNS = ['service', 'region', 'segment', 'channel', 'queue', 'origin'] as const;

export interface KpiDims {
  service: string;
  region: string;
  segment?: string | null;
  channel?: string | null;
  queue?: string | null;
  /** Who supplied the data (customer, network, partner, manager, employee). */
  origin?: string | null;
}

export interface KpiFamilySpec<R, A extends object> {
  source: WindowBinding<R & { eventId: string; ts: number; service: string; region: string }, unknown>['source'];
  /** Family name: the `family` column, and the engine's family. */
  family: string;
  dims(record: R): KpiDims;
  empty(): A;
  add(acc: A, record: R): void;
}

export interface KpiWindowState<A> {
  dims: string[];
  acc: A;
}

export function kpiBinding<R extends { eventId: string; ts: number; service: string; region: string }, A extends object>(
  spec: KpiFamilySpec<R, A>,
): WindowBinding<R, KpiWindowState<A>> {
  return {
    source: spec.source,
    table: KPI_TABLE,
    keyColumns: KPI_KEY_COLUMNS,
    fixedColumns: { family: spec.family },
    keyOf: (r) => {
      const d = spec.dims(r);
      return joinKey([d.service, d.region, d.segment ?? '', d.channel ?? '', d.queue ?? '', d.origin ?? '']);
    },
    family: {
      name: spec.family,
      create: (key) => ({ dims: splitKey(key), acc: spec.empty() }),
      add: (state, record) => spec.add(state.acc, record),
      // What the event added, taken back: its contribution to an empty accumulator.
      remove: (state, record) => {
        const part = spec.empty();
        spec.add(part, record);
        subtractAccumulator(state.acc, part);
      },
    },
    toRow: (state, windowStart, meta) => {
      const [service = '', region = '', segment = '', channel = '', queue = '', origin = ''] = state.dims;
      return {
        family: spec.family,
        service,
        region,
        segment,
        channel,
        queue,
        origin,
        window_start: windowStart,
        sums: flatten(state.acc),
        version: meta.version,
        bus_epoch: meta.busEpoch,
        source_partition: meta.partition,
        last_offset: meta.lastOffset,
      };
    },
    fromRow: (row) => ({
      dims: KPI_KEY_COLUMNS.map((c) => String(row[c] ?? '')),
      acc: unflatten(spec.empty(), (row.sums ?? {}) as Record<string, number>),
    }),
  };
}
