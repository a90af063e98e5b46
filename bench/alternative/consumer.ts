import type { Bus, ConsumedMessage, ConsumerHandle } from '../../services/shared/bus/bus.ts';
import { FINGERPRINT_HEADER, readerFor } from '../../services/shared/sources/avro.ts';
import type { SourceName } from '../../services/shared/sources/registry.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { ALT_TABLE, altRow } from './raw-table.ts';

/**
 * The alternative's loader: decode each Avro message (same readers as the aggregator),
 * insert the batch as typed rows, then commit the batch's offsets — at-least-once, with
 * the ReplacingMergeTree absorbing redeliveries.
 */
export async function startAltConsumer(
  bus: Bus,
  store: Store,
  options: { groupId: string; topics: string[]; onInserted?: (rows: number, at: number) => void },
): Promise<ConsumerHandle> {
  let consumer: ConsumerHandle | undefined;
  const sourceOf = (topic: string) => topic.split('.')[1] as SourceName;
  consumer = await bus.subscribe({
    groupId: options.groupId,
    topics: options.topics,
    fromBeginning: true,
    maxBatchSize: 5000,
    onBatch: async (messages: ConsumedMessage[]) => {
      const rows = messages.map((m) => {
        const source = sourceOf(m.topic);
        return altRow(source, readerFor(source).decodeWith(m.headers[FINGERPRINT_HEADER], m.value));
      });
      await store.insert(ALT_TABLE, rows);
      options.onInserted?.(rows.length, Date.now());
      const next = new Map<string, { topic: string; partition: number; offset: number }>();
      for (const m of messages)
        next.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
      await consumer?.commit([...next.values()]);
    },
  });
  return consumer;
}
