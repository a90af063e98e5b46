import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Bus } from '../shared/bus/bus.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';

/**
 * Kubernetes-style probes, beside /healthz (which stays the human-facing summary):
 *
 * - `/livez`: the process is up and its event loop answers. Nothing external is checked,
 *   so a Kafka or ClickHouse outage never gets healthy pods restarted in a loop.
 * - `/readyz`: this instance should get work — it finished starting, is not stopping,
 *   reaches Kafka and ClickHouse, and, in a process running the aggregator, is a member
 *   of the consumer group: it holds partitions, or it has been subscribed long enough to
 *   have joined and is a standby (more instances than partitions). 503 otherwise, with
 *   every check in the body.
 */

/** The aggregator's membership as /readyz sees it. */
export interface ConsumerGroupProbe {
  assignedPartitions(): Promise<number>;
  /** Since when this member is subscribed (epoch ms). */
  readonly subscribedAt: number;
  /** After this long without partitions the member counts as a joined standby. */
  readonly standbyAfterMs: number;
}

export interface ProbeDeps {
  bus: Pick<Bus, 'health'>;
  store: Pick<Store, 'ping'>;
  /** Present when this process runs the aggregator. */
  consumerGroup?: ConsumerGroupProbe;
  now?: () => number;
}

/**
 * The consumer-group probe from the aggregator's own gauge (cxv_aggregator_assigned_partitions,
 * sampled every 2 s). `standbyAfterMs`: the session timeout plus the group's initial
 * rebalance delay (3 s) and a margin — by then a member without partitions has joined.
 */
export function consumerGroupFromMetrics(
  metrics: Pick<Metrics, 'assignedPartitions'>,
  options: { sessionTimeoutMs: number; subscribedAt?: number },
): ConsumerGroupProbe {
  return {
    subscribedAt: options.subscribedAt ?? Date.now(),
    standbyAfterMs: options.sessionTimeoutMs + 3_000 + 2_000,
    async assignedPartitions() {
      const { values } = await metrics.assignedPartitions.get();
      return values[0]?.value ?? 0;
    },
  };
}

const check = z.object({ ok: z.boolean(), detail: z.string() });
const readyBody = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    started: check,
    bus: check,
    store: check,
    consumerGroup: check.extend({ assignedPartitions: z.number().int(), standby: z.boolean() }).optional(),
  }),
});
const liveBody = z.object({ status: z.literal('alive'), uptimeSeconds: z.number() });

export function registerProbes(app: FastifyInstance, deps: ProbeDeps): void {
  const now = deps.now ?? Date.now;
  let phase: 'starting' | 'started' | 'stopping' = 'starting';
  app.addHook('onReady', async () => {
    phase = 'started';
  });
  // Stop being ready first, so load balancers drain this instance while it shuts down.
  app.addHook('preClose', async () => {
    phase = 'stopping';
  });
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/livez',
    {
      config: { scope: 'public' },
      schema: { summary: 'Liveness: the process answers (checks nothing external)', response: { 200: liveBody } },
    },
    async () => ({ status: 'alive' as const, uptimeSeconds: Math.round(process.uptime()) }),
  );

  typed.get(
    '/readyz',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Readiness: started, Kafka and ClickHouse reachable, and (aggregator) a consumer-group member; 503 otherwise',
        response: { 200: readyBody, 503: readyBody },
      },
    },
    async (request, reply) => {
      const [bus, storeOk, group] = await Promise.all([
        deps.bus.health().catch((err: Error) => ({ ok: false, detail: err.message })),
        deps.store.ping().catch(() => false),
        deps.consumerGroup ? groupCheck(deps.consumerGroup, now()) : Promise.resolve(undefined),
      ]);
      const checks = {
        started: { ok: phase === 'started', detail: phase },
        // A failing client's message can name broker hosts: only for a caller with a read token
        // (the auth layer sets principal to null for everyone else; without the layer it is absent).
        bus: {
          ok: bus.ok,
          detail:
            bus.ok || request.principal !== null
              ? bus.detail
              : 'Kafka is not reachable (the cause is in the log, and in /healthz with a read token)',
        },
        store: { ok: storeOk, detail: storeOk ? 'ping ok' : 'ClickHouse does not answer ping' },
        ...(group ? { consumerGroup: group } : {}),
      };
      const ok = Object.values(checks).every((c) => c.ok);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
    },
  );
}

async function groupCheck(group: ConsumerGroupProbe, at: number) {
  const assignedPartitions = await group.assignedPartitions().catch(() => 0);
  const waited = at - group.subscribedAt;
  const standby = assignedPartitions === 0 && waited >= group.standbyAfterMs;
  return {
    ok: assignedPartitions > 0 || standby,
    assignedPartitions,
    standby,
    detail:
      assignedPartitions > 0
        ? `${assignedPartitions} partition(s) assigned`
        : standby
          ? 'joined without partitions: a standby (more aggregator instances than partitions)'
          : `joining the consumer group (${Math.round(waited / 1000)} s so far)`,
  };
}
