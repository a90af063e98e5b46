import { backfillTopicForSource, type OutgoingMessage, topicForSource } from '../../../services/shared/bus/bus.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../../services/shared/sources/avro.ts';
import { SOURCES, type SourceName } from '../../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../../services/shared/sources/source.ts';
import type { Store } from '../../../services/shared/store/store.ts';
import { drawEvent } from '../../support/ground-truth.ts';
import { seededRandom as prng } from '../../support/random.ts';

/**
 * A known stream and its ground truth: probe counter samples and contacts over a few
 * (service, region) keys, with the totals they must produce; and the stored totals read
 * back from ClickHouse to compare. Deterministic per seed.
 */

export interface KeyTotals {
  /** Probe events. */
  samples: number;
  attempts: number;
  successes: number;
  contacts: number;
  answered: number;
}

export interface StreamEvent {
  source: 'probe' | 'contact';
  event: Record<string, unknown>;
}

export const RELIABILITY_KEYS = ['voice', 'iptv', 'broadband', 'mobile-data'].flatMap((service) =>
  ['north', 'south', 'east', 'west'].map((region) => ({ service, region })),
);

export class KnownStream {
  readonly truth = new Map<string, KeyTotals>();
  readonly ids = new Set<string>();
  private readonly random: () => number;
  private seq = 0;

  constructor(
    private readonly prefix: string,
    seed: number,
    private readonly keys = RELIABILITY_KEYS,
  ) {
    this.random = prng(seed);
  }

  /** `n` new events stamped by `ts(i)`; the truth counts them (send them exactly once, or re-send the same ones). */
  next(n: number, ts: (i: number) => number): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (let i = 0; i < n; i += 1) {
      this.seq += 1;
      const key = this.keys[Math.floor(this.random() * this.keys.length)] ?? { service: 'voice', region: 'north' };
      const totals = this.truth.get(`${key.service}|${key.region}`) ?? {
        samples: 0,
        attempts: 0,
        successes: 0,
        contacts: 0,
        answered: 0,
      };
      this.truth.set(`${key.service}|${key.region}`, totals);
      const eventId = `${this.prefix}-${this.seq}`;
      this.ids.add(eventId);
      const drawn = drawEvent(this.random, 0.75, { eventId: () => eventId, ts: ts(i), ...key });
      if (drawn.source === 'probe') {
        totals.samples += 1;
        totals.attempts += Number(drawn.event.attempts);
        totals.successes += Number(drawn.event.successes);
      } else {
        totals.contacts += 1;
        if (!drawn.event.abandoned) totals.answered += 1;
      }
      out.push(drawn);
    }
    return out;
  }

  get events(): number {
    return this.ids.size;
  }
}

/** The Avro messages ingest would produce for these events, per topic (live, or the backfill topic of a replayed file). */
export function toMessages(events: readonly StreamEvent[], options: { backfill?: boolean } = {}): Map<string, OutgoingMessage[]> {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const { source, event } of events) {
    const definition = SOURCES[source as SourceName] as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor(source);
    const record = definition.toRecord(definition.input.parse(event), Date.now());
    const topic = options.backfill ? backfillTopicForSource(source) : topicForSource(source);
    const list = byTopic.get(topic) ?? [];
    list.push({
      key: definition.partitionKey(record),
      value: codec.encode(record),
      headers: { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint },
    });
    byTopic.set(topic, list);
  }
  return byTopic;
}

/** NDJSON bodies per source, for the HTTP edge. */
export function toBodies(events: readonly StreamEvent[]): Array<{ source: string; body: string; count: number }> {
  const by = new Map<string, string[]>();
  for (const e of events) by.set(e.source, [...(by.get(e.source) ?? []), JSON.stringify(e.event)]);
  return [...by].map(([source, lines]) => ({ source, body: lines.join('\n'), count: lines.length }));
}

export interface Comparison {
  /** Events of the stream with no raw row stored. */
  lost: number;
  /** Events counted beyond the truth (probe samples and contacts over what was sent). */
  duplicated: number;
  /** Per key, where the stored totals differ from the truth. */
  mismatches: string[];
  storedEvents: number;
}

/** Reads the stored totals of the stream's keys and compares them with the truth. */
export async function compareWithStore(store: Store, stream: KnownStream, prefix: string): Promise<Comparison> {
  const probes = await store.query<{ service: string; region: string; samples: string; attempts: string; successes: string }>(
    `SELECT service, region, sum(samples) AS samples, sum(attempts) AS attempts, sum(successes) AS successes
     FROM ${store.table('probe_kpi_1m')} FINAL GROUP BY service, region`,
  );
  const contacts = await store.query<{ service: string; region: string; received: string; answered: string }>(
    `SELECT service, region, sum(sums['received']) AS received, sum(sums['answered']) AS answered
     FROM ${store.table('kpi_1m')} FINAL WHERE family = 'contact' GROUP BY service, region`,
  );
  const stored = new Map<string, KeyTotals>();
  const at = (service: string, region: string) => {
    const key = `${service}|${region}`;
    const t = stored.get(key) ?? { samples: 0, attempts: 0, successes: 0, contacts: 0, answered: 0 };
    stored.set(key, t);
    return t;
  };
  for (const r of probes) {
    Object.assign(at(r.service, r.region), {
      samples: Number(r.samples),
      attempts: Number(r.attempts),
      successes: Number(r.successes),
    });
  }
  for (const r of contacts)
    Object.assign(at(r.service, r.region), { contacts: Number(r.received), answered: Number(r.answered) });
  const [raw] = await store.query<{ n: string }>(
    `SELECT uniqExact(event_id) AS n FROM ${store.table('raw_events')} FINAL WHERE startsWith(event_id, {prefix:String})`,
    { prefix: `${prefix}-` },
  );
  const storedEvents = Number(raw?.n ?? 0);
  const mismatches: string[] = [];
  let duplicated = 0;
  let missing = 0;
  for (const key of new Set([...stream.truth.keys(), ...stored.keys()])) {
    const want = stream.truth.get(key) ?? { samples: 0, attempts: 0, successes: 0, contacts: 0, answered: 0 };
    const got = stored.get(key) ?? { samples: 0, attempts: 0, successes: 0, contacts: 0, answered: 0 };
    if (JSON.stringify(want) !== JSON.stringify(got))
      mismatches.push(`${key}: want ${JSON.stringify(want)}, stored ${JSON.stringify(got)}`);
    duplicated += Math.max(0, got.samples - want.samples) + Math.max(0, got.contacts - want.contacts);
    missing += Math.max(0, want.samples - got.samples) + Math.max(0, want.contacts - got.contacts);
  }
  // An event is lost if a window does not count it, or if its raw row is missing.
  return { lost: Math.max(missing, stream.events - storedEvents), duplicated, mismatches, storedEvents };
}
