import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import { EventLedger, fingerprintOf, RETRACTION_FINGERPRINT, versionPayload } from '../../services/aggregator/ledger.ts';
import { retractionMessage } from '../../services/aggregator/retraction.ts';
import { topicForSource } from '../../services/shared/bus/bus.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics, type Metrics } from '../../services/shared/metrics.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { SOURCES } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import { type EmbeddedStack, startEmbeddedStack } from '../support/embedded-stack.ts';
import { eventually } from '../support/pipeline.ts';

/**
 * Corrections and retractions through the real bus and store (docs/corrections.md):
 * survey responses whose NPS counts are checked per minute, exactly, after each step.
 * Every case has its own service, so the cases do not see each other's windows.
 */

const MIN = 60_000;
const WINDOWS = { outOfOrdernessMs: 1000, allowedLatenessMs: 3_600_000, idlePartitionMs: 300, backfillOutOfOrdernessMs: 1000 };
const T0 = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;

let stack: EmbeddedStack;
beforeAll(async () => {
  stack = await startEmbeddedStack('corrections');
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

interface Nps {
  responses: number;
  promoters: number;
  detractors: number;
}

const survey = (service: string, eventId: string, minute: number, score: number, second = 10) => ({
  eventId,
  ts: T0 + minute * MIN + second * 1000,
  service,
  region: 'north',
  kind: 'nps',
  score,
});

/** Produces events as ingest does, with a chosen receivedAt. */
async function send(events: Array<Record<string, unknown>>, receivedAt = Date.now()): Promise<void> {
  const definition = SOURCES.survey as unknown as SourceDefinition<unknown, object>;
  const codec = codecFor('survey');
  const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
  const records = events.map((e) => definition.toRecord(definition.input.parse(e), receivedAt));
  await stack.bus.produce(
    topicForSource('survey'),
    records.map((r) => ({ key: definition.partitionKey(r), value: codec.encode(r), headers })),
  );
}

/** The record the aggregator decodes from what `send` produces. */
function decoded(event: Record<string, unknown>, receivedAt: number): Record<string, unknown> {
  const definition = SOURCES.survey as unknown as SourceDefinition<unknown, object>;
  const codec = codecFor('survey');
  return codec.decode(codec.encode(definition.toRecord(definition.input.parse(event), receivedAt))) as Record<string, unknown>;
}

/** A retraction as `DELETE /api/v1/events/survey/{eventId}` produces it. */
async function retract(eventId: string, receivedAt = Date.now()): Promise<void> {
  await stack.bus.produce(topicForSource('survey'), [retractionMessage(eventId, receivedAt)]);
}

/** Per minute (from T0), the stored NPS counts of a service. */
async function storedNps(service: string): Promise<Record<number, Nps>> {
  const rows = await stack.store.query<{ ws: string; r: string; p: string; d: string }>(
    `SELECT toUnixTimestamp64Milli(window_start) AS ws, sums['npsResponses'] AS r, sums['npsPromoters'] AS p, sums['npsDetractors'] AS d
     FROM ${stack.store.table('kpi_1m')} FINAL WHERE family = 'survey' AND service = {service:String} ORDER BY ws`,
    { service },
  );
  return Object.fromEntries(
    rows.map((r) => [(Number(r.ws) - T0) / MIN, { responses: Number(r.r), promoters: Number(r.p), detractors: Number(r.d) }]),
  );
}

async function lateEvents(eventId: string): Promise<Array<{ reason: string; payload: string }>> {
  return stack.store.query<{ reason: string; payload: string }>(
    `SELECT reason, payload FROM ${stack.store.table('late_events')} FINAL WHERE event_id = {eventId:String}`,
    { eventId },
  );
}

const outcomes = async (metrics: Metrics, outcome: string): Promise<number> =>
  (await metrics.aggregatorOutcome.get()).values
    .filter((v) => v.labels.outcome === outcome && v.labels.source === 'survey')
    .reduce((n, v) => n + v.value, 0);

/** A fresh aggregator on its own bus client (a restarted process), in the one consumer group. */
function aggregator(
  metrics: Metrics,
  correctionHorizonMs?: number,
  checkpoint = { bytesPerPartition: 0, intervalMs: 200 },
): Aggregator {
  const bus = createBus({
    kind: 'rdkafka',
    brokers: stack.kafka.bootstrapServers,
    clientId: 'corrections',
    log: silentLogger,
    sessionTimeoutMs: 6000,
  });
  return new Aggregator({
    bus,
    store: stack.store,
    metrics,
    log: silentLogger,
    windows: WINDOWS,
    busEpoch: stack.busEpoch,
    groupId: 'corrections',
    flushIntervalMs: 100,
    checkpoint,
    ...(correctionHorizonMs === undefined ? {} : { correctionHorizonMs }),
  });
}

/** Waits until the stored counts of a service are exactly `want`. */
async function expectStored(service: string, want: Record<number, Nps>): Promise<void> {
  let last: Record<number, Nps> = {};
  try {
    await eventually(
      `${service} stored as expected`,
      async () => {
        last = await storedNps(service);
        return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
      },
      45_000,
    );
  } catch {
    expect(last).toEqual(want);
  }
}

const nps = (responses: number, promoters: number, detractors: number): Nps => ({ responses, promoters, detractors });

describe('corrections and retractions', () => {
  let running: Aggregator;
  let metrics: Metrics;

  beforeAll(async () => {
    metrics = createMetrics();
    running = aggregator(metrics);
    await running.start();
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
  });

  it('a correction within a minute replaces the outcome: the old score is taken out, the new one counted, once', async () => {
    // Minute 0: scores 10, 9, 3 → 3 responses, 2 promoters, 1 detractor: NPS (2 − 1) / 3 = 33.3.
    await send([survey('same', 'a1', 0, 10), survey('same', 'a2', 0, 9), survey('same', 'a3', 0, 3)]);
    await expectStored('same', { 0: nps(3, 2, 1) });
    const before = await outcomes(metrics, 'corrected');
    // a3 re-scored 3 → 10: 3 responses, 3 promoters, 0 detractors: NPS 100. Sent twice: the second is a re-send.
    await send([survey('same', 'a3', 0, 10)]);
    await send([survey('same', 'a3', 0, 10)]);
    await expectStored('same', { 0: nps(3, 3, 0) });
    expect((await outcomes(metrics, 'corrected')) - before).toBe(1);
  }, 60_000);

  it('a correction that moves an event to another minute decrements the old minute and increments the new one', async () => {
    await send([survey('moved', 'b1', 0, 10), survey('moved', 'b2', 0, 2)]);
    await expectStored('moved', { 0: nps(2, 1, 1) });
    // b2 moves from minute 0 to minute 2 with the same score.
    await send([survey('moved', 'b2', 2, 2, 40)]);
    await expectStored('moved', { 0: nps(1, 1, 0), 2: nps(1, 0, 1) });
    // The original re-sent after its correction is a re-send: it does not move the event back.
    await send([survey('moved', 'b2', 0, 2)]);
    await sleep(1500);
    expect(await storedNps('moved')).toEqual({ 0: nps(1, 1, 0), 2: nps(1, 0, 1) });
  }, 60_000);

  it('a retraction takes the event out of its minute; retracting again changes nothing', async () => {
    await send([survey('gone', 'c1', 1, 10), survey('gone', 'c2', 1, 0), survey('gone', 'c3', 1, 8)]);
    await expectStored('gone', { 1: nps(3, 1, 1) });
    const before = await outcomes(metrics, 'retracted');
    await retract('c2');
    await retract('c2');
    await expectStored('gone', { 1: nps(2, 1, 0) });
    expect((await outcomes(metrics, 'retracted')) - before).toBe(1);
  }, 60_000);

  it('a successor that reads an earlier version first, the store knowing a later one, counts the later one and stores its raw row', async () => {
    // What a member that died after writing event_versions (and before the windows) leaves:
    // f1's history, version 1 (minute 6, score 3) received at r1, version 2 (minute 7, score 10) at r2.
    const r1 = Date.now() - 5_000;
    const r2 = r1 + 1_000;
    const v1 = survey('successor', 'f1', 6, 3);
    const v2 = survey('successor', 'f1', 7, 10);
    const ledger = new EventLedger();
    for (const [event, at] of [
      [v1, r1],
      [v2, r2],
    ] as const) {
      const payload = versionPayload(decoded(event, at));
      ledger.append('survey', 'f1', fingerprintOf(payload), payload, at);
    }
    await stack.store.insert('event_versions', ledger.pendingRows());
    // The successor reads version 1 again (from the start, or redelivered) — and never version 2.
    await send([v1], r1);
    await expectStored('successor', { 7: nps(1, 1, 0) });
    const raw = await eventually('the raw row of version 2', async () => {
      const rows = await stack.store.query<{ ts: string; received: string; payload: string }>(
        `SELECT toUnixTimestamp64Milli(ts) AS ts, toUnixTimestamp64Milli(received_at) AS received, payload
         FROM ${stack.store.table('raw_events')} FINAL WHERE source = 'survey' AND event_id = 'f1'`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(raw.map((r) => ({ ts: Number(r.ts), received: Number(r.received) }))).toEqual([{ ts: v2.ts, received: r2 }]);
    expect(JSON.parse(raw[0]?.payload ?? '{}')).toMatchObject({ eventId: 'f1', score: 10, receivedAt: r2 });
  }, 60_000);

  it('a correction after an aggregator restart takes the stored contribution out and moves it', async () => {
    await send([survey('restart', 'd1', 3, 9), survey('restart', 'd2', 3, 5)]);
    await expectStored('restart', { 3: nps(2, 1, 1) });
    await running.stop();
    metrics = createMetrics();
    running = aggregator(metrics);
    await running.start();
    // d2: re-scored 5 → 9 and moved from minute 3 to minute 5, known to the new process only from the store.
    await send([survey('restart', 'd2', 5, 9)]);
    await expectStored('restart', { 3: nps(1, 1, 0), 5: nps(1, 1, 0) });
    expect(await outcomes(metrics, 'corrected')).toBe(1);
  }, 90_000);
});

describe('the correction horizon', () => {
  it('a correction later than the horizon after the first version is kept in late_events with its reason, and changes nothing', async () => {
    await sleep(0);
    const metrics = createMetrics();
    const short = aggregator(metrics, 60_000);
    await short.start();
    try {
      const first = Date.now();
      await send([survey('horizon', 'e1', 4, 10), survey('horizon', 'e2', 4, 10)], first);
      await expectStored('horizon', { 4: nps(2, 2, 0) });
      // 60 s is the horizon: a correction received 60 s after the first version is taken, 60.001 s is not.
      await send([survey('horizon', 'e1', 4, 0)], first + 60_000);
      await send([survey('horizon', 'e2', 4, 0)], first + 60_001);
      await expectStored('horizon', { 4: nps(2, 1, 1) });
      const late = await eventually('the late correction stored', async () => {
        const rows = await lateEvents('e2');
        return rows.length > 0 ? rows : undefined;
      });
      expect(late.map((r) => r.reason)).toEqual(['correction_past_horizon']);
      expect(JSON.parse(late[0]?.payload ?? '{}')).toMatchObject({ eventId: 'e2', score: 0 });
      expect(await outcomes(metrics, 'correction_past_horizon')).toBe(1);
    } finally {
      await short.stop();
    }
  }, 90_000);
});

describe('the version ledger', () => {
  it('is stored before an offset that added a version is committed, with no window to write: a retraction that comes before its event', async () => {
    const metrics = createMetrics();
    // No checkpoints: nothing but a commit makes this process write the ledger while it runs.
    const quiet = aggregator(metrics, undefined, { bytesPerPartition: 0, intervalMs: 0 });
    await quiet.start();
    try {
      const at = Date.now();
      await retract('u1', at);
      const stored = await eventually('the retraction in event_versions, the aggregator running', async () => {
        const rows = await stack.store.query<{ fingerprints: Array<string | number> }>(
          `SELECT fingerprints FROM ${stack.store.table('event_versions')} FINAL WHERE source = 'survey' AND event_id = 'u1'`,
        );
        return rows.length > 0 ? rows : undefined;
      });
      expect(stored[0]?.fingerprints.map(Number)).toEqual([RETRACTION_FINGERPRINT]);
      expect(await outcomes(metrics, 'not_found')).toBe(1);
      // The event, received before its retraction, is superseded on arrival: never counted.
      await send([survey('unseen', 'u1', 4, 10)], at - 1_000);
      await send([survey('unseen', 'u2', 4, 0)], at + 1_000);
      // Both read before the stop (which writes what this process counted, and no more).
      await eventually('u1 superseded and u2 counted', async () =>
        (await outcomes(metrics, 'duplicate')) >= 1 &&
        (await outcomes(metrics, 'counted')) + (await outcomes(metrics, 'late_update')) >= 1
          ? true
          : undefined,
      );
    } finally {
      await quiet.stop();
    }
    await expectStored('unseen', { 4: nps(1, 0, 1) });
    expect(await outcomes(metrics, 'duplicate')).toBe(1);
  }, 90_000);
});
