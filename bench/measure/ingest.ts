import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { startBroker } from '../lib/broker.ts';
import { type Sample, type Span, span } from '../lib/cpu.ts';
import { ndjsonBodies, stream } from '../lib/events.ts';
import { drive } from '../lib/load.ts';
import type { ProfileSummary } from '../lib/profile.ts';
import { median, percentile } from '../lib/stats.ts';
import { runWorker, Worker } from '../lib/worker-host.ts';
import type { ServerInfo } from '../workers/server.ts';
import { CLIENTS, fmt, streamSpec } from './consume.ts';

/**
 * Figure (3) and the events-per-second half of (7): the ingest edge as a process of its
 * own (`startPipeline` with the ingest role), loaded over HTTP with NDJSON bodies of
 * 1,000 events, 4 requests in flight; validation, Avro and Kafka's acknowledgement
 * included. Per run, raw produce (the same events already encoded, the same batch size
 * and concurrency) is measured beside it with the same client. Then the same server at
 * a quarter and half of its measured rate: CPU per event at each rate.
 */

const BATCH = 1000;
const CONCURRENCY = 4;

export interface IngestRun {
  run: number;
  client: KafkaClientKind;
  ingest: Span & { p50Ms: number; p99Ms: number };
  produce: Span;
}

export interface RatePoint {
  offeredPerSec: number;
  achievedPerSec: number;
  cpuUsPerEvent: number;
  p99Ms: number;
}

export interface IngestPhase {
  runs: IngestRun[];
  byClient: Record<
    string,
    { ingestPerCoreSec: number; ingestPerSec: number; producePerCoreSec: number; ingestToProduce: number; p99Ms: number }
  >;
  faster: KafkaClientKind;
  rates: RatePoint[];
  profile?: ProfileSummary;
}

export async function measureIngest(o: {
  runs: number;
  events: number;
  profile: boolean;
  rateSweep: boolean;
  log: (line: string) => void;
}): Promise<IngestPhase> {
  const broker = await startBroker();
  const runs: IngestRun[] = [];
  const rates: RatePoint[] = [];
  let profile: ProfileSummary | undefined;
  try {
    for (const client of CLIENTS) {
      const server = new Worker<unknown>('server', { brokers: broker.brokers, client, roles: ['ingest'] });
      try {
        const info = (await server.ready) as ServerInfo;
        const load = async (prefix: string, events: number, eventsPerSec?: number) => {
          const bodies = ndjsonBodies(stream(streamSpec(events, 64, prefix)), BATCH);
          const before = await server.request<Sample>({ kind: 'cpu' });
          const result = await drive(info.url, info.token, bodies, {
            concurrency: CONCURRENCY,
            ...(eventsPerSec ? { eventsPerSec } : {}),
          });
          const after = await server.request<Sample>({ kind: 'cpu' });
          return {
            ...span(result.accepted, before, after),
            p50Ms: percentile(result.latenciesMs, 50),
            p99Ms: percentile(result.latenciesMs, 99),
          };
        };
        await load(`warm-${client}`, Math.min(20_000, o.events));
        for (let run = 1; run <= o.runs; run += 1) {
          const produce = await runWorker<Span>('raw-produce', {
            brokers: broker.brokers,
            client,
            stream: streamSpec(o.events, 64, `produce-${client}-${run}`),
            batch: BATCH,
            concurrency: CONCURRENCY,
            topic: `bench.produce.${client}`,
          });
          const ingest = await load(`ingest-${client}-${run}`, o.events);
          o.log(
            `  run ${run} ${client}: ingest ${fmt(ingest.perCoreSec)}/core-s (${fmt(ingest.perSec)}/s), raw produce ${fmt(produce.perCoreSec)}/core-s`,
          );
          runs.push({ run, client, ingest, produce });
        }
        if (client === 'rdkafka' && o.rateSweep) {
          // CPU per event at lower rates: is the cost linear in events per second?
          const ceiling = median(runs.filter((r) => r.client === client).map((r) => r.ingest.perSec));
          for (const share of [0.25, 0.5]) {
            const offered = Math.round(ceiling * share);
            const point = await load(`rate-${client}-${share}`, Math.max(10_000, Math.round(o.events * share)), offered);
            rates.push({
              offeredPerSec: offered,
              achievedPerSec: point.perSec,
              cpuUsPerEvent: (point.cpuMs * 1000) / point.events,
              p99Ms: point.p99Ms,
            });
          }
          const full = runs.filter((r) => r.client === client);
          rates.push({
            offeredPerSec: ceiling,
            achievedPerSec: ceiling,
            cpuUsPerEvent: median(full.map((r) => (r.ingest.cpuMs * 1000) / r.ingest.events)),
            p99Ms: median(full.map((r) => r.ingest.p99Ms)),
          });
        }
        if (o.profile && client === 'rdkafka') {
          await server.request({ kind: 'profile-start' });
          await load(`profile-${client}`, o.events);
          profile = (await server.request<ProfileSummary | null>({ kind: 'profile-stop' })) ?? undefined;
        }
      } finally {
        await server.finish().catch(() => {});
        server.kill();
      }
    }
  } finally {
    await broker.stop();
  }
  const byClient: IngestPhase['byClient'] = {};
  for (const client of CLIENTS) {
    const mine = runs.filter((r) => r.client === client);
    byClient[client] = {
      ingestPerCoreSec: median(mine.map((r) => r.ingest.perCoreSec)),
      ingestPerSec: median(mine.map((r) => r.ingest.perSec)),
      producePerCoreSec: median(mine.map((r) => r.produce.perCoreSec)),
      ingestToProduce: median(mine.map((r) => r.ingest.perCoreSec / r.produce.perCoreSec)),
      p99Ms: median(mine.map((r) => r.ingest.p99Ms)),
    };
  }
  const faster = CLIENTS.reduce((best, c) =>
    (byClient[c]?.ingestPerCoreSec ?? 0) > (byClient[best]?.ingestPerCoreSec ?? 0) ? c : best,
  );
  return {
    runs,
    byClient,
    faster,
    rates: rates.sort((a, b) => a.offeredPerSec - b.offeredPerSec),
    ...(profile ? { profile } : {}),
  };
}
