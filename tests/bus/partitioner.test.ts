import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedKafka } from '../../services/shared/bus/index.ts';
import { partitionKey, startEmbeddedKafka } from '../../services/shared/bus/index.ts';
import { javaPartition, makeBus, record, testLog, uniqueName, waitFor } from './helpers.ts';

let kafka: EmbeddedKafka;

beforeAll(async () => {
  kafka = await startEmbeddedKafka({ brokers: 3, log: testLog() });
});

afterAll(async () => {
  await kafka?.stop();
});

describe('partitioning across clients', () => {
  it('rdkafka and kafkajs put the same key on the same (Java-compatible murmur2) partition', async () => {
    const rd = makeBus('rdkafka', kafka.bootstrapServers);
    const kj = makeBus('kafkajs', kafka.bootstrapServers);
    try {
      const topic = uniqueName('partitioner');
      const keys = [
        ...['voice', 'data', 'sms', 'iptv', 'fixed-bb', 'roaming'].flatMap((s) =>
          ['north', 'south', 'east', 'west', 'centre'].map((r) => partitionKey(s, r)),
        ),
        'a',
        'ab',
        'abc',
        'abcd',
        'é|ü',
        '',
      ];
      await rd.produce(
        topic,
        keys.map((key) => ({ key, value: Buffer.from('rdkafka'), headers: { client: 'rdkafka' } })),
      );
      await kj.produce(
        topic,
        keys.map((key) => ({ key, value: Buffer.from('kafkajs'), headers: { client: 'kafkajs' } })),
      );
      const rec = await record(rd, { groupId: uniqueName('g'), topics: [topic] });
      await waitFor('both copies of every key', () => rec.messages.length >= keys.length * 2);
      await rec.handle.close();

      const where = new Map<string, Record<string, number>>();
      for (const m of rec.messages) {
        const client = m.headers.client ?? '?';
        where.set(m.key ?? '<null>', { ...where.get(m.key ?? '<null>'), [client]: m.partition });
      }
      const partitionsUsed = new Set<number>();
      for (const key of keys) {
        const w = where.get(key);
        expect(w, key).toBeDefined();
        expect(w?.rdkafka, key).toBe(w?.kafkajs);
        expect(w?.rdkafka, `java murmur2 partition of ${JSON.stringify(key)}`).toBe(javaPartition(key, 4));
        partitionsUsed.add(w?.rdkafka ?? -1);
      }
      // The keys are spread, not all on one partition.
      expect(partitionsUsed.size).toBe(4);
    } finally {
      await Promise.all([rd.close(), kj.close()]);
    }
  });
});
