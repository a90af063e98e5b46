import { afterAll, beforeAll, describe, it } from 'vitest';
import type { EmbeddedKafka } from '../../services/shared/bus/index.ts';
import { BusError, startEmbeddedKafka } from '../../services/shared/bus/index.ts';
import { CLIENTS, deadAddress, makeBus, testLog, uniqueName } from './helpers.ts';

let kafka: EmbeddedKafka;

beforeAll(async () => {
  kafka = await startEmbeddedKafka({ brokers: 1, log: testLog() });
});

afterAll(async () => {
  await kafka?.stop();
});

/** Resolves with the BusError the promise rejected with (fails the test otherwise). */
const expectBusError = async (p: Promise<unknown>): Promise<BusError> => {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(err instanceof BusError)) throw new Error(`expected a BusError, got ${String(err)}`);
  return err;
};

describe.concurrent.each(CLIENTS)('%s bus: unavailable broker and health', (kind) => {
  it('health() is ok against the running cluster', async ({ expect }) => {
    const bus = makeBus(kind, kafka.bootstrapServers);
    try {
      const health = await bus.health();
      expect(health).toMatchObject({ ok: true, client: kind, brokers: kafka.bootstrapServers });
      expect(health.detail).toContain('1 broker');
    } finally {
      await bus.close();
    }
  });

  it('produce() and health() against an address where nothing listens fail fast with BusError', async ({ expect }) => {
    const brokers = await deadAddress();
    const bus = makeBus(kind, brokers, { connectTimeoutMs: 2_000, produceTimeoutMs: 3_000, healthTimeoutMs: 1_000 });
    try {
      const t0 = Date.now();
      const health = await bus.health();
      expect(health.ok).toBe(false);
      expect(health.client).toBe(kind);
      expect(health.detail.length).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(3_000);

      const t1 = Date.now();
      const err = await expectBusError(bus.produce(uniqueName('dead'), [{ key: 'k', value: Buffer.from('v') }]));
      const elapsed = Date.now() - t1;
      expect(['BUS_UNAVAILABLE', 'BUS_TIMEOUT', 'BUS_PRODUCE_FAILED']).toContain(err.code);
      expect(elapsed).toBeLessThan(6_000);
      console.log(`[${kind}] produce to a dead address: ${err.code} after ${elapsed} ms (${err.message})`);

      // subscribe() cannot connect either.
      const sub = await expectBusError(
        bus.subscribe({ groupId: 'g', topics: ['t'], fromBeginning: true, onBatch: async () => {} }),
      );
      expect(['BUS_UNAVAILABLE', 'BUS_CONSUME_FAILED', 'BUS_TIMEOUT']).toContain(sub.code);
    } finally {
      await bus.close();
    }
    // close() is idempotent and produce after close is refused.
    await bus.close();
    await expectBusError(bus.produce('t', [{ key: 'k', value: Buffer.from('v') }]));
  });

  it('produce() rejects within the produce timeout once the cluster went away', async ({ expect }) => {
    const own = await startEmbeddedKafka({ brokers: 1, log: testLog() });
    const bus = makeBus(kind, own.bootstrapServers, { produceTimeoutMs: 2_500, connectTimeoutMs: 2_000, healthTimeoutMs: 1_000 });
    try {
      const topic = uniqueName('gone');
      await bus.produce(topic, [{ key: 'k', value: Buffer.from('before') }]);
      expect((await bus.health()).ok).toBe(true);
      await own.stop();
      const t0 = Date.now();
      const err = await expectBusError(bus.produce(topic, [{ key: 'k', value: Buffer.from('after') }]));
      expect(['BUS_TIMEOUT', 'BUS_PRODUCE_FAILED']).toContain(err.code);
      expect(Date.now() - t0).toBeLessThan(6_000);
      console.log(`[${kind}] produce after the cluster stopped: ${err.code} after ${Date.now() - t0} ms (${err.message})`);
      expect((await bus.health()).ok).toBe(false);
    } finally {
      await own.stop();
      await bus.close();
    }
  });
});
