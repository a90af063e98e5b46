import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { CountingBus } from '../lib/counting-bus.ts';
import { type Span, span } from '../lib/cpu.ts';
import { aggregatorTopics, benchBus, benchLog, uniqueGroup } from '../lib/setup.ts';

/**
 * The ceiling: consume the Avro messages with no processing at all (count them), through
 * the same Bus port, batch size and topic set as the aggregator. The clock starts at the
 * first batch, after the consumer group has formed.
 */
export async function run(p: { brokers: string; client: KafkaClientKind; expected: number }): Promise<Span> {
  const log = benchLog();
  const bus = new CountingBus(benchBus(p.client, p.brokers, log), p.expected);
  const topics = aggregatorTopics();
  // As the aggregator does: a consumer subscribed to a missing topic would not see it appear for minutes.
  await bus.ensureTopics(topics);
  const consumer = await bus.subscribe({
    groupId: uniqueGroup('raw'),
    topics,
    fromBeginning: true,
    maxBatchSize: 5000,
    onBatch: async () => {},
  });
  const end = await bus.done;
  const result = span(bus.handled, bus.first ?? end, end);
  await consumer.close();
  await bus.close();
  return result;
}
