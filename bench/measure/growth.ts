import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { startBroker } from '../lib/broker.ts';
import type { ProfileSummary } from '../lib/profile.ts';
import { runWorker } from '../lib/worker-host.ts';
import type { AggregatorRun } from '../workers/aggregator.ts';
import { aggregatorParams, fmt, streamSpec } from './consume.ts';

/**
 * Figure (7), keys: the in-memory aggregation's CPU per event at growing key counts (no
 * I/O), and the whole aggregator (Kafka to ClickHouse) on the same number of events
 * spread over more keys — more keys means more window rows written per event.
 */

export interface EngineGrowthPoint {
  keys: number;
  windows: number;
  events: number;
  cpuUsPerEvent: number;
  /** CPU of the flushes (no I/O) per event, with windows held for the allowed lateness (workers/engine-growth.ts). */
  flushUsPerEvent?: number;
}

export interface AggregatorGrowthPoint {
  keys: number;
  events: number;
  perCoreSec: number;
  cpuUsPerEvent: number;
  windowRows: number;
  verified: boolean;
  /** Wall time the aggregator waited on ClickHouse, per table (`read T`: queries), during the measured span. */
  inserts?: AggregatorRun['inserts'];
}

/** One more aggregator run, profiled, at the key count where the growth target is read (figure 7). */
export interface GrowthProfile {
  keys: number;
  cpuUsPerEvent: number;
  windowRows: number;
  csiRows: number;
  events: number;
  profile: ProfileSummary;
  inserts: AggregatorRun['inserts'];
}

export interface GrowthPhase {
  engine: EngineGrowthPoint[];
  aggregator: AggregatorGrowthPoint[];
  client: KafkaClientKind;
  profile?: GrowthProfile;
}

export async function measureGrowth(o: {
  engineKeys: number[];
  aggregatorKeys: number[];
  events: number;
  client: KafkaClientKind;
  /** Profile one more run at `profileKeys` (10,000 by default, the key count of the growth target). */
  profile: boolean;
  profileKeys?: number;
  log: (line: string) => void;
}): Promise<GrowthPhase> {
  const engine: EngineGrowthPoint[] = [];
  for (const keys of o.engineKeys) {
    const point = await runWorker<EngineGrowthPoint>('engine-growth', { keys, events: 200_000 });
    o.log(
      `  engine, ${keys.toLocaleString('en-US')} keys: ${point.cpuUsPerEvent.toFixed(1)} µs CPU/event; flushes with windows held ${point.flushUsPerEvent?.toFixed(2) ?? '–'} µs/event`,
    );
    engine.push(point);
  }
  const aggregator: AggregatorGrowthPoint[] = [];
  const runAggregator = async (keys: number, profile: boolean): Promise<AggregatorRun> => {
    const broker = await startBroker();
    try {
      const spec = streamSpec(o.events, keys, `growth-${keys}${profile ? '-profiled' : ''}`);
      await runWorker('preload', { brokers: broker.brokers, stream: spec });
      return await runWorker<AggregatorRun>('aggregator', {
        ...aggregatorParams(broker.brokers, spec, spec.probeEvents),
        client: o.client,
        profile,
      });
    } finally {
      await broker.stop();
    }
  };
  for (const keys of o.aggregatorKeys) {
    const run = await runAggregator(keys, false);
    o.log(`  aggregator, ${keys.toLocaleString('en-US')} keys: ${fmt(run.perCoreSec)}/core-s, ${run.windowRows} window rows`);
    aggregator.push({
      keys,
      events: run.events,
      perCoreSec: run.perCoreSec,
      cpuUsPerEvent: (run.cpuMs * 1000) / run.events,
      windowRows: run.windowRows,
      verified: run.verified,
      inserts: run.inserts,
    });
  }
  const phase: GrowthPhase = { engine, aggregator, client: o.client };
  if (o.profile) {
    const keys = o.profileKeys ?? 10_000;
    o.log(`  profiled aggregator run, ${keys.toLocaleString('en-US')} keys`);
    const run = await runAggregator(keys, true);
    if (run.profile) {
      phase.profile = {
        keys,
        cpuUsPerEvent: (run.cpuMs * 1000) / run.events,
        windowRows: run.windowRows,
        csiRows: run.csiRows,
        events: run.events,
        profile: run.profile,
        inserts: run.inserts,
      };
    }
  }
  return phase;
}
