import { DLQ_TOPIC } from '../../services/shared/bus/bus.ts';
import { CountingBus } from '../lib/counting-bus.ts';
import { encode, type StreamSpec, stream } from '../lib/events.ts';
import { aggregatorTopics, benchBus, benchLog, uniqueGroup } from '../lib/setup.ts';

/**
 * Puts the known stream on the broker once, as ingest would (Avro, keyed by
 * service|region); every consumer figure reads it. Then reads it back once to make sure
 * the broker kept all of it: librdkafka's mock keeps at most 5 MiB (or 100,000 message
 * sets) per partition and silently drops the oldest beyond that.
 */
export async function run(p: {
  brokers: string;
  stream: StreamSpec;
}): Promise<{ events: number; byTopic: Record<string, number> }> {
  const log = benchLog();
  const bus = benchBus('rdkafka', p.brokers, log);
  // Created here through librdkafka: kafkajs' metadata request does not make the mock
  // auto-create a topic (KafkajsBus.ensureTopics times out on a fresh embedded broker).
  const topics = aggregatorTopics();
  await bus.ensureTopics([...topics, DLQ_TOPIC]);
  const byTopic: Record<string, number> = {};
  const chunk = 50_000;
  const events = [...stream(p.stream)];
  for (let i = 0; i < events.length; i += chunk) {
    for (const [topic, messages] of encode(events.slice(i, i + chunk))) {
      for (let j = 0; j < messages.length; j += 10_000) await bus.produce(topic, messages.slice(j, j + 10_000));
      byTopic[topic] = (byTopic[topic] ?? 0) + messages.length;
    }
  }
  const check = new CountingBus(bus, events.length);
  let seen = 0;
  const consumer = await check.subscribe({
    groupId: uniqueGroup('preload-check'),
    topics,
    fromBeginning: true,
    maxBatchSize: 5000,
    onBatch: async (messages) => {
      seen += messages.length;
    },
  });
  await Promise.race([check.done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  await consumer.close();
  await bus.close();
  if (seen < events.length) {
    throw new Error(
      `the embedded broker kept only ${seen} of ${events.length} messages (librdkafka's mock keeps 5 MiB per partition): run with fewer --events`,
    );
  }
  return { events: events.length, byTopic };
}
