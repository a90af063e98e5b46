import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { type ConsumerGroupProbe, consumerGroupFromMetrics, type ProbeDeps, registerProbes } from '../../services/api/probes.ts';
import { createMetrics } from '../../services/shared/metrics.ts';

/** /livez and /readyz as Kubernetes (deploy/k8s) and compose (deploy/compose.yaml) use them. */

async function app(deps: Partial<ProbeDeps> = {}) {
  const server = Fastify();
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  registerProbes(server, {
    bus: { health: async () => ({ ok: true, client: 'rdkafka', brokers: 'k:9092', detail: '1 broker(s) reachable' }) },
    store: { ping: async () => true },
    ...deps,
  });
  await server.ready();
  return server;
}

const group = (assigned: number, subscribedAt: number): ConsumerGroupProbe => ({
  assignedPartitions: async () => assigned,
  subscribedAt,
  standbyAfterMs: 11_000,
});

describe('probes', () => {
  it('/livez answers while Kafka and ClickHouse are down', async () => {
    const server = await app({
      bus: { health: async () => ({ ok: false, client: 'rdkafka', brokers: 'k:9092', detail: 'timeout' }) },
      store: { ping: async () => false },
    });
    const live = await server.inject('/livez');
    expect(live.statusCode).toBe(200);
    expect(live.json().status).toBe('alive');
    const ready = await server.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toEqual({
      started: { ok: true, detail: 'started' },
      bus: { ok: false, detail: 'timeout' },
      store: { ok: false, detail: 'ClickHouse does not answer ping' },
    });
    await server.close();
  });

  it('/readyz is 200 once started with bus and store reachable, and 503 while stopping', async () => {
    let closing: Promise<unknown> | undefined;
    const server = await app({
      store: {
        ping: async () => {
          closing ??= server.close();
          return true;
        },
      },
    });
    expect((await server.inject('/readyz')).json()).toMatchObject({ status: 'ready' });
    await closing;
  });

  it('an aggregator is ready with partitions, not ready while joining, and ready as a standby after the join time', async () => {
    const now = 1_000_000;
    const withPartitions = await app({ consumerGroup: group(3, now - 1000), now: () => now });
    expect((await withPartitions.inject('/readyz')).json().checks.consumerGroup).toEqual({
      ok: true,
      assignedPartitions: 3,
      standby: false,
      detail: '3 partition(s) assigned',
    });
    const joining = await app({ consumerGroup: group(0, now - 4000), now: () => now });
    const answer = await joining.inject('/readyz');
    expect(answer.statusCode).toBe(503);
    expect(answer.json().checks.consumerGroup.detail).toBe('joining the consumer group (4 s so far)');
    const standby = await app({ consumerGroup: group(0, now - 12_000), now: () => now });
    expect((await standby.inject('/readyz')).json().checks.consumerGroup).toMatchObject({ ok: true, standby: true });
    await Promise.all([withPartitions.close(), joining.close(), standby.close()]);
  });

  it('reads the assignment from the aggregator gauge', async () => {
    const metrics = createMetrics();
    const probe = consumerGroupFromMetrics(metrics, { sessionTimeoutMs: 30_000, subscribedAt: 5 });
    metrics.assignedPartitions.set(6);
    expect(await probe.assignedPartitions()).toBe(6);
    expect(probe.standbyAfterMs).toBe(35_000);
  });
});
