import { topicForSource } from '../../services/shared/bus/bus.ts';
import type { Bus } from '../../services/shared/bus/index.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { SOURCES, type SourceName } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { seededRandom as prng } from '../support/random.ts';

/**
 * A known stream for multi-process tests: probe results and contacts over several
 * (service, region) keys, in batches, with a share of earlier events re-sent (the bus
 * delivers at least once; duplicates must not count). `truth` is what the store must
 * hold afterwards, exactly.
 */

export interface Totals {
  attempts: number;
  successes: number;
  contacts: number;
  answered: number;
}

export interface KnownStream {
  batches: Array<Array<{ source: SourceName; event: Record<string, unknown> }>>;
  truth: Map<string, Totals>;
  /** Distinct events (without the re-sent duplicates). */
  distinctEvents: number;
}

const empty = (): Totals => ({ attempts: 0, successes: 0, contacts: 0, answered: 0 });

export function knownStream(options: {
  seed: number;
  batches: number;
  perBatch: number;
  startMs: number;
  services: string[];
  regions: string[];
}): KnownStream {
  const random = prng(options.seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
  const truth = new Map<string, Totals>();
  const sent: Array<{ source: SourceName; event: Record<string, unknown> }> = [];
  const batches: KnownStream['batches'] = [];
  let seq = 0;
  for (let b = 0; b < options.batches; b += 1) {
    const batch: KnownStream['batches'][number] = [];
    for (let i = 0; i < options.perBatch; i += 1) {
      seq += 1;
      const service = pick(options.services);
      const region = pick(options.regions);
      const ts = options.startMs + seq * 500 + Math.floor(random() * 800);
      const t = truth.get(`${service}|${region}`) ?? empty();
      truth.set(`${service}|${region}`, t);
      if (random() < 0.8) {
        const attempts = 1 + Math.floor(random() * 10);
        const successes = Math.floor(random() * (attempts + 1));
        t.attempts += attempts;
        t.successes += successes;
        batch.push({
          source: 'probe',
          event: { eventId: `p-${seq}`, ts, service, region, probeId: 'x', probeType: 'agent', attempts, successes },
        });
      } else {
        const abandoned = random() < 0.2;
        t.contacts += 1;
        if (!abandoned) t.answered += 1;
        batch.push({
          source: 'contact',
          event: {
            eventId: `c-${seq}`,
            ts,
            service,
            region,
            channel: 'voice',
            queue: 'q',
            waitSec: 10 + Math.floor(random() * 60),
            abandoned,
            ...(abandoned ? {} : { handleSec: 200 }),
          },
        });
      }
    }
    for (const d of sent.filter(() => random() < 0.1)) batch.push(d);
    batches.push(batch);
    sent.push(...batch.filter((e) => !sent.includes(e)));
  }
  return { batches, truth, distinctEvents: seq };
}

/** Produces a batch straight to the source topics, encoded as ingest encodes it. */
export async function produceBatch(bus: Bus, batch: KnownStream['batches'][number]): Promise<void> {
  for (const source of ['probe', 'contact'] as const) {
    const events = batch.filter((e) => e.source === source).map((e) => e.event);
    if (events.length === 0) continue;
    const definition = SOURCES[source] as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor(source);
    const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
    const records = events.map((e) => definition.toRecord(definition.input.parse(e), Date.now()));
    await bus.produce(
      topicForSource(source),
      records.map((r) => ({ key: definition.partitionKey(r), value: codec.encode(r), headers })),
    );
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
