import { retractionMessage } from '../../services/aggregator/retraction.ts';
import { topicForSource } from '../../services/shared/bus/bus.ts';
import type { Bus } from '../../services/shared/bus/index.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { SOURCES, type SourceName } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { seededRandom as prng } from './random.ts';

/**
 * The tests' ground-truth stream (multi-process, integration, container and reliability
 * tests): probe results and contacts whose totals are known before they are sent.
 *
 * A known stream for multi-process tests: probe results and contacts over several
 * (service, region) keys, in batches, with a share of earlier events re-sent (the bus
 * delivers at least once; duplicates must not count). `truth` is what the store must
 * hold afterwards, exactly.
 *
 * With `corrections`, later batches also correct earlier events (other counts, a time
 * moved up to two minutes either way, sometimes another region) and retract some; the
 * re-sent share then includes superseded versions, which must change nothing. `truth`
 * counts the last version of every event that is not retracted.
 */

export interface Totals {
  attempts: number;
  successes: number;
  contacts: number;
  answered: number;
}

export interface StreamEntry {
  source: SourceName;
  event: Record<string, unknown>;
  /** A retraction of `event.eventId` (as DELETE /api/v1/events/{source}/{eventId} sends it): `event` holds only the eventId. */
  retract?: boolean;
}

export interface KnownStream {
  batches: StreamEntry[][];
  truth: Map<string, Totals>;
  /** Distinct events (without the re-sent duplicates). */
  distinctEvents: number;
  /** eventIds of the events not retracted (all of them without `corrections`). */
  liveEventIds: string[];
}

const empty = (): Totals => ({ attempts: 0, successes: 0, contacts: 0, answered: 0 });

/**
 * One event of a ground-truth stream, drawn the same way by every generator: a probe
 * counter sample (`probeShare` of the time) with 1–10 attempts, else a voice contact,
 * abandoned one time in five. The order of the draws is fixed, so a seed gives one stream.
 */
export function drawEvent(
  random: () => number,
  probeShare: number,
  at: { eventId: (source: 'probe' | 'contact') => string; ts: number; service: string; region: string },
): StreamEntry & { source: 'probe' | 'contact' } {
  const { ts, service, region } = at;
  if (random() < probeShare) {
    const attempts = 1 + Math.floor(random() * 10);
    const successes = Math.floor(random() * (attempts + 1));
    return {
      source: 'probe',
      event: { eventId: at.eventId('probe'), ts, service, region, probeId: 'x', probeType: 'agent', attempts, successes },
    };
  }
  const abandoned = random() < 0.2;
  return {
    source: 'contact',
    event: {
      eventId: at.eventId('contact'),
      ts,
      service,
      region,
      channel: 'voice',
      queue: 'q',
      waitSec: 10 + Math.floor(random() * 60),
      abandoned,
      ...(abandoned ? {} : { handleSec: 200 }),
    },
  };
}

export function knownStream(options: {
  seed: number;
  batches: number;
  perBatch: number;
  startMs: number;
  services: string[];
  regions: string[];
  /** Prepended to every eventId: streams sharing one store must not share eventIds (they are unique per source). */
  idPrefix?: string;
  /** Per batch after the first, the share of earlier events corrected (a third as many are retracted). */
  corrections?: number;
}): KnownStream {
  const random = prng(options.seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
  const prefix = options.idPrefix ?? '';
  const sent: StreamEntry[] = [];
  /** eventId → its current version, or null once retracted. */
  const current = new Map<string, StreamEntry | null>();
  const batches: KnownStream['batches'] = [];
  let seq = 0;
  for (let b = 0; b < options.batches; b += 1) {
    const batch: KnownStream['batches'][number] = [];
    if (options.corrections !== undefined && b > 0) {
      for (const [eventId, entry] of [...current]) {
        if (!entry) continue;
        const roll = random();
        if (roll < options.corrections / 3) {
          const retraction: StreamEntry = { source: entry.source, event: { eventId }, retract: true };
          batch.push(retraction);
          current.set(eventId, null);
        } else if (roll < options.corrections) {
          const corrected = { source: entry.source, event: correct(entry, random, options.regions) };
          batch.push(corrected);
          current.set(eventId, corrected);
        }
      }
    }
    for (let i = 0; i < options.perBatch; i += 1) {
      seq += 1;
      const service = pick(options.services);
      const region = pick(options.regions);
      const ts = options.startMs + seq * 500 + Math.floor(random() * 800);
      const entry = drawEvent(random, 0.8, {
        eventId: (source) => `${prefix}${source === 'probe' ? 'p' : 'c'}-${seq}`,
        ts,
        service,
        region,
      });
      batch.push(entry);
      current.set(String(entry.event.eventId), entry);
    }
    for (const d of sent.filter(() => random() < 0.1)) batch.push(d);
    batches.push(batch);
    sent.push(...batch.filter((e) => !sent.includes(e)));
  }
  const truth = new Map<string, Totals>();
  for (const entry of current.values()) {
    if (!entry) continue;
    const e = entry.event;
    const key = `${String(e.service)}|${String(e.region)}`;
    const t = truth.get(key) ?? empty();
    truth.set(key, t);
    if (entry.source === 'probe') {
      t.attempts += Number(e.attempts);
      t.successes += Number(e.successes);
    } else {
      t.contacts += 1;
      if (!e.abandoned) t.answered += 1;
    }
  }
  // Every key an event was ever sent to is in the truth (a key whose events all moved away counts zeros).
  for (const entry of sent) {
    if (!entry.retract) {
      const key = `${String(entry.event.service)}|${String(entry.event.region)}`;
      if (!truth.has(key)) truth.set(key, empty());
    }
  }
  const liveEventIds = [...current].flatMap(([eventId, entry]) => (entry ? [eventId] : []));
  return { batches, truth, distinctEvents: seq, liveEventIds };
}

/** Another version of an event: other counts, its time moved by up to two minutes, sometimes another region. */
function correct(entry: StreamEntry, random: () => number, regions: string[]): Record<string, unknown> {
  const e = entry.event as Record<string, unknown>;
  const ts = Number(e.ts) + Math.floor((random() - 0.5) * 4 * 60_000);
  const region = random() < 0.25 ? (regions[Math.floor(random() * regions.length)] as string) : e.region;
  if (entry.source === 'probe') {
    const attempts = 1 + Math.floor(random() * 10);
    return { ...e, ts, region, attempts, successes: Math.floor(random() * (attempts + 1)) };
  }
  const abandoned = !e.abandoned;
  const { handleSec: _handleSec, ...rest } = e;
  return { ...rest, ts, region, abandoned, ...(abandoned ? {} : { handleSec: 200 }) };
}

/** Produces a batch straight to the source topics, encoded as ingest encodes it. */
export async function produceBatch(bus: Bus, batch: KnownStream['batches'][number]): Promise<void> {
  for (const source of ['probe', 'contact'] as const) {
    const events = batch.filter((e) => e.source === source && !e.retract).map((e) => e.event);
    const retractions = batch.filter((e) => e.source === source && e.retract).map((e) => String(e.event.eventId));
    const definition = SOURCES[source] as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor(source);
    const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
    const records = events.map((e) => definition.toRecord(definition.input.parse(e), Date.now()));
    const messages = [
      ...records.map((r) => ({ key: definition.partitionKey(r), value: codec.encode(r), headers })),
      ...retractions.map((eventId) => retractionMessage(eventId, Date.now())),
    ];
    if (messages.length > 0) await bus.produce(topicForSource(source), messages);
  }
}

/** Per key, what the store counts (FINAL: the newest version of every window row). */
export async function storedTotals(store: Store): Promise<Map<string, Totals>> {
  const probes = await store.query<{ service: string; region: string; attempts: string; successes: string }>(
    `SELECT service, region, sum(attempts) AS attempts, sum(successes) AS successes
     FROM ${store.table('probe_kpi_1m')} FINAL GROUP BY service, region`,
  );
  const contacts = await store.query<{ service: string; region: string; received: string; answered: string }>(
    `SELECT service, region, sum(sums['received']) AS received, sum(sums['answered']) AS answered
     FROM ${store.table('kpi_1m')} FINAL WHERE family = 'contact' GROUP BY service, region`,
  );
  const stored = new Map<string, Totals>();
  for (const r of probes) {
    const t = stored.get(`${r.service}|${r.region}`) ?? empty();
    t.attempts = Number(r.attempts);
    t.successes = Number(r.successes);
    stored.set(`${r.service}|${r.region}`, t);
  }
  for (const r of contacts) {
    const t = stored.get(`${r.service}|${r.region}`) ?? empty();
    t.contacts = Number(r.received);
    t.answered = Number(r.answered);
    stored.set(`${r.service}|${r.region}`, t);
  }
  return stored;
}

export const sorted = (m: Map<string, Totals>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
