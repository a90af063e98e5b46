import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { startAltConsumer } from '../alternative/consumer.ts';
import { altKpis } from '../alternative/kpi-sql.ts';
import { ALT_TABLE, createAltTable } from '../alternative/raw-table.ts';
import { CountingBus } from '../lib/counting-bus.ts';
import { type Span, span } from '../lib/cpu.ts';
import { aggregatorTopics, benchBus, benchLog, freshStore, uniqueGroup } from '../lib/setup.ts';

/**
 * The alternative's throughput on the same preloaded stream: raw typed rows into a fresh
 * chDB, with the same client, batch size and process accounting as the aggregator. Then
 * the cost the alternative pays at read time instead: one key's KPIs over the whole
 * span, computed by SQL from the raw rows.
 */

export interface AlternativeRun extends Span {
  verified: boolean;
  detail: string;
  /** Reading one key's KPIs for the whole span from the raw rows, ms. */
  readMs: number;
}

export async function run(p: {
  brokers: string;
  client: KafkaClientKind;
  expected: number;
  span: { from: number; to: number };
  readKey: { service: string; region: string };
}): Promise<AlternativeRun> {
  const log = benchLog();
  const { store } = await freshStore('alternative', log);
  await createAltTable(store);
  const bus = new CountingBus(benchBus(p.client, p.brokers, log), p.expected);
  const consumer = await startAltConsumer(bus, store, { groupId: uniqueGroup('alternative'), topics: aggregatorTopics() });
  const end = await bus.done;
  const figure = span(bus.handled, bus.first ?? end, end);
  const [stored] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table(ALT_TABLE)} FINAL`);
  const readStarted = performance.now();
  await altKpis(store, { ...p.readKey, from: p.span.from, to: p.span.to, stepSec: 60 });
  const readMs = performance.now() - readStarted;
  await consumer.close();
  await bus.close();
  await store.close();
  return { ...figure, verified: Number(stored?.n) === p.expected, detail: `rows ${stored?.n}/${p.expected}`, readMs };
}
