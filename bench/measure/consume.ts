import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { startBroker } from '../lib/broker.ts';
import type { Span } from '../lib/cpu.ts';
import { keyOf, type StreamSpec, stream } from '../lib/events.ts';
import { median } from '../lib/stats.ts';
import { runWorker } from '../lib/worker-host.ts';
import type { AggregatorRun } from '../workers/aggregator.ts';
import type { AlternativeRun } from '../workers/alternative.ts';

/**
 * Figures (1), (2) and the throughput half of (5) on one preloaded stream: per run and
 * per client, side by side, the raw consume ceiling, the aggregator through the full
 * model, and the alternative (raw rows into ClickHouse). Ratios are taken within a run
 * and then the median over runs, so a noisy moment of the machine hits both sides.
 */

export const CLIENTS: readonly KafkaClientKind[] = ['rdkafka', 'kafkajs'];

export interface ConsumeRun {
  run: number;
  client: KafkaClientKind;
  raw: Span;
  aggregator: AggregatorRun;
  alternative: AlternativeRun;
}

export interface ClientFigures {
  rawPerCoreSec: number;
  rawPerSec: number;
  aggregatorPerCoreSec: number;
  aggregatorPerSec: number;
  alternativePerCoreSec: number;
  alternativePerSec: number;
  /** Median over runs of aggregator / raw consume, per core. */
  aggregatorToRaw: number;
  /** Median over runs of aggregator / alternative, per core. */
  aggregatorToAlternative: number;
  aggregatorReadMs: number;
  alternativeReadMs: number;
  verified: boolean;
  inserts: Array<{ table: string; ms: number; rows: number; statements?: number }>;
}

export interface ConsumePhase {
  stream: StreamSpec & { probeEvents: number };
  runs: ConsumeRun[];
  byClient: Record<string, ClientFigures>;
  faster: KafkaClientKind;
  profile?: AggregatorRun;
  withoutRawEvents?: AggregatorRun;
}

export interface ConsumeOptions {
  runs: number;
  events: number;
  keys: number;
  profile: boolean;
  ablation: boolean;
  log: (line: string) => void;
}

export function aggregatorParams(brokers: string, spec: StreamSpec, probeEvents: number) {
  return {
    brokers,
    expected: spec.events,
    probeEvents,
    span: { from: spec.startTs - 60_000, to: spec.startTs + spec.spanMs + 120_000 },
    readKey: { service: keyOf(0).service, region: keyOf(0).region },
  };
}

export function streamSpec(events: number, keys: number, idPrefix: string): StreamSpec & { probeEvents: number } {
  const spec: StreamSpec = {
    events,
    keys,
    // Ten minutes of event time ending well in the past: windows close as the stream goes.
    startTs: Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000,
    spanMs: 10 * 60_000,
    idPrefix,
  };
  let probeEvents = 0;
  for (const e of stream(spec)) if (e.source === 'probe') probeEvents += 1;
  return { ...spec, probeEvents };
}

export async function measureConsume(o: ConsumeOptions): Promise<ConsumePhase> {
  const broker = await startBroker();
  try {
    const spec = streamSpec(o.events, o.keys, 'bench');
    await runWorker('preload', { brokers: broker.brokers, stream: spec });
    const base = aggregatorParams(broker.brokers, spec, spec.probeEvents);
    const runs: ConsumeRun[] = [];
    for (let run = 1; run <= o.runs; run += 1) {
      for (const client of CLIENTS) {
        const raw = await runWorker<Span>('raw-consume', { brokers: broker.brokers, client, expected: spec.events });
        const aggregator = await runWorker<AggregatorRun>('aggregator', { ...base, client });
        const alternative = await runWorker<AlternativeRun>('alternative', { ...base, client });
        o.log(
          `  run ${run} ${client}: raw ${fmt(raw.perCoreSec)}/core-s, aggregator ${fmt(aggregator.perCoreSec)}/core-s` +
            `${aggregator.verified ? '' : ' (NOT VERIFIED)'}, alternative ${fmt(alternative.perCoreSec)}/core-s`,
        );
        runs.push({ run, client, raw, aggregator, alternative });
      }
    }
    const byClient: Record<string, ClientFigures> = {};
    for (const client of CLIENTS) {
      const mine = runs.filter((r) => r.client === client);
      byClient[client] = {
        rawPerCoreSec: median(mine.map((r) => r.raw.perCoreSec)),
        rawPerSec: median(mine.map((r) => r.raw.perSec)),
        aggregatorPerCoreSec: median(mine.map((r) => r.aggregator.perCoreSec)),
        aggregatorPerSec: median(mine.map((r) => r.aggregator.perSec)),
        alternativePerCoreSec: median(mine.map((r) => r.alternative.perCoreSec)),
        alternativePerSec: median(mine.map((r) => r.alternative.perSec)),
        aggregatorToRaw: median(mine.map((r) => r.aggregator.perCoreSec / r.raw.perCoreSec)),
        aggregatorToAlternative: median(mine.map((r) => r.aggregator.perCoreSec / r.alternative.perCoreSec)),
        aggregatorReadMs: median(mine.map((r) => r.aggregator.readMs)),
        alternativeReadMs: median(mine.map((r) => r.alternative.readMs)),
        verified: mine.every((r) => r.aggregator.verified && r.alternative.verified),
        inserts: medianInserts(mine.map((r) => r.aggregator.inserts)),
      };
    }
    const faster = CLIENTS.reduce((best, c) =>
      (byClient[c]?.aggregatorPerCoreSec ?? 0) > (byClient[best]?.aggregatorPerCoreSec ?? 0) ? c : best,
    );
    const phase: ConsumePhase = { stream: spec, runs, byClient, faster };
    if (o.profile) {
      o.log(`  profiled aggregator run (${faster})`);
      phase.profile = await runWorker<AggregatorRun>('aggregator', { ...base, client: faster, profile: true });
    }
    if (o.ablation) {
      o.log(`  aggregator without the raw_events insert (${faster}), to show its cost`);
      phase.withoutRawEvents = await runWorker<AggregatorRun>('aggregator', {
        ...base,
        client: faster,
        dropTables: ['raw_events'],
      });
    }
    return phase;
  } finally {
    await broker.stop();
  }
}

function medianInserts(runs: Array<Array<{ table: string; ms: number; rows: number; statements?: number }>>) {
  const tables = [...new Set(runs.flatMap((r) => r.map((i) => i.table)))];
  return tables
    .map((table) => ({
      table,
      ms: median(runs.map((r) => r.find((i) => i.table === table)?.ms ?? 0)),
      rows: median(runs.map((r) => r.find((i) => i.table === table)?.rows ?? 0)),
      statements: median(runs.map((r) => r.find((i) => i.table === table)?.statements ?? 0)),
    }))
    .sort((a, b) => b.ms - a.ms);
}

export const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
