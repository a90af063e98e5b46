import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { type Span, sample, span } from '../lib/cpu.ts';
import { encode, type StreamSpec, stream } from '../lib/events.ts';
import { benchBus, benchLog } from '../lib/setup.ts';

/**
 * Raw produce: already-encoded Avro messages, acknowledged by the broker (acks=all), in
 * batches and with the concurrency the ingest load uses, so the two are comparable. The
 * messages go to a topic of their own, read by nobody.
 */
export async function run(p: {
  brokers: string;
  client: KafkaClientKind;
  stream: StreamSpec;
  batch: number;
  concurrency: number;
  topic: string;
}): Promise<Span> {
  const log = benchLog();
  const bus = benchBus(p.client, p.brokers, log);
  const messages = [...encode(stream(p.stream)).values()].flat();
  const batches: Array<typeof messages> = [];
  for (let i = 0; i < messages.length; i += p.batch) batches.push(messages.slice(i, i + p.batch));
  // Connect and create the topic (a produce auto-creates it with either client) before the clock starts.
  await bus.produce(p.topic, messages.slice(0, 1));
  let next = 0;
  const from = sample();
  await Promise.all(
    Array.from({ length: p.concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] ?? [];
        await bus.produce(p.topic, batch);
      }
    }),
  );
  const result = span(messages.length, from, sample());
  await bus.close();
  return result;
}
