import type { AnyBinding } from '../../services/aggregator/binding.ts';
import { WindowEngine } from '../../services/aggregator/engine.ts';
import { bindings } from '../../services/aggregator/families/index.ts';
import { rawEventLine, type WindowedRecord } from '../../services/aggregator/raw-events.ts';
import { BENCH_SOURCES, type BenchSource, inputFor, keyOf, prng, toRecord } from './events.ts';

/**
 * The aggregator's in-memory half without Kafka or ClickHouse: a WindowEngine with every
 * KPI family registered, fed decoded records the way Aggregator.handleBatch feeds it
 * (every binding of the source, the raw row kept with the first). For memory and
 * per-event cost as keys grow.
 */

export const FEED_WINDOW_START = Date.UTC(2026, 10, 23, 12, 0, 0);

export interface FedRecord {
  source: BenchSource;
  partition: string;
  record: WindowedRecord;
}

export interface Feed {
  engine: WindowEngine;
  /** Decoded records for `eventsPerKey` events of each key in [fromKey, toKey) (made outside any timing). */
  records(fromKey: number, toKey: number, eventsPerKey: number): FedRecord[];
  /** Adds records the way Aggregator.handleBatch does. */
  add(records: readonly FedRecord[]): void;
}

/** Key k is a (service, region, segment) tuple of one source (they take turns): one open window per family of that source. */
export const sourceOfKey = (k: number): BenchSource => BENCH_SOURCES[k % BENCH_SOURCES.length] ?? 'probe';

export function createFeed(only?: BenchSource): Feed {
  const engine = new WindowEngine({
    windowSizeMs: 60_000,
    outOfOrdernessMs: 5_000,
    allowedLatenessMs: 300_000,
    idlePartitionMs: 10_000,
  });
  const bySource = new Map<string, AnyBinding[]>();
  for (const b of bindings()) {
    engine.register(b.family);
    bySource.set(b.source, [...(bySource.get(b.source) ?? []), b]);
  }
  const random = prng(7);
  let offset = 0;
  let serial = 0;
  return {
    engine,
    records(fromKey, toKey, eventsPerKey) {
      const out: FedRecord[] = [];
      for (let k = fromKey; k < toKey; k += 1) {
        const source = only ?? sourceOfKey(k);
        const { service, region, segment } = keyOf(only ? k : Math.floor(k / BENCH_SOURCES.length));
        for (let e = 0; e < eventsPerKey; e += 1) {
          serial += 1;
          const ts = FEED_WINDOW_START + Math.floor(random() * 50_000);
          const common = { eventId: `m-${serial}`, ts, service, region, segment };
          const record = toRecord(source, inputFor(source, common, serial, random), ts + 100) as unknown as WindowedRecord;
          out.push({ source, partition: `cx.${source}.v1:${k % 4}`, record });
        }
      }
      return out;
    },
    add(records) {
      for (const { source, partition, record } of records) {
        (bySource.get(source) ?? []).forEach((binding, i) => {
          engine.add(
            binding.family.name,
            binding.keyOf(record),
            record.ts,
            partition,
            offset,
            record,
            record.ts + 200,
            record.eventId,
            i === 0 ? () => rawEventLine(source, record) : undefined,
          );
        });
        offset += 1;
      }
    },
  };
}
