import { type OutgoingMessage, topicForSource } from '../../services/shared/bus/bus.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { SOURCES } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import { seededRandom } from '../../services/simulator/random.ts';

/**
 * The benchmark's known stream: a deterministic mix of the four event sources in the
 * proportions a contact-heavy operator sees (half probe results, a quarter contacts,
 * surveys, social posts), spread over `keys` (service, region) pairs and a span of
 * event time, in time order with up to a second of jitter (well inside the default
 * 5 s out-of-orderness, so nothing is late). Every figure of a run uses the same stream.
 */

export type BenchSource = 'probe' | 'contact' | 'survey' | 'social';
export const BENCH_SOURCES: readonly BenchSource[] = ['probe', 'contact', 'survey', 'social'];

export const SERVICES = ['mobile-data', 'voice', 'broadband', 'iptv'] as const;
const SEGMENTS = ['consumer', 'business', 'vip'] as const;
const POSTS = [
  'the stream keeps buffering, awful evening',
  'fast and stable today, thanks',
  'support fixed my router in five minutes',
  'no signal again downtown',
];

export interface StreamSpec {
  events: number;
  /** Distinct (service, region) pairs. */
  keys: number;
  startTs: number;
  spanMs: number;
  /** Prefix of eventIds: two streams with different prefixes never share an id. */
  idPrefix: string;
  seed?: number;
}

export interface BenchEvent {
  source: BenchSource;
  service: string;
  region: string;
  ts: number;
  input: Record<string, unknown>;
}

/** The stream's PRNG is the project's one seeded PRNG (the simulator's mulberry32): the same stream per seed. */
export { seededRandom as prng };

export const keyOf = (k: number) => ({
  service: SERVICES[k % SERVICES.length] ?? 'voice',
  region: `region-${Math.floor(k / SERVICES.length)}`,
  segment: SEGMENTS[k % SEGMENTS.length] ?? 'consumer',
});

function pickSource(r: number): BenchSource {
  if (r < 0.5) return 'probe';
  if (r < 0.75) return 'contact';
  if (r < 0.9) return 'survey';
  return 'social';
}

/** One event of the stream: the JSON an operator's feed would post. */
export function benchEvent(i: number, spec: StreamSpec, random: () => number): BenchEvent {
  const { service, region, segment } = keyOf(Math.floor(random() * spec.keys));
  const ts = Math.floor(spec.startTs + (i * spec.spanMs) / spec.events + random() * 1000);
  const source = pickSource(random());
  const input = inputFor(source, { eventId: `${spec.idPrefix}-${i}`, ts, service, region, segment }, i, random);
  return { source, service, region, ts, input };
}

/** The fields of one event of `source` around its common fields (eventId, ts, service, region, segment). */
export function inputFor(
  source: BenchSource,
  common: Record<string, unknown>,
  i: number,
  random: () => number,
): Record<string, unknown> {
  switch (source) {
    case 'probe':
      return random() < 0.5
        ? {
            ...common,
            probeId: `rtp-${i % 97}`,
            probeType: 'active',
            success: random() < 0.985,
            latencyMs: 10 + random() * 90,
            jitterMs: random() * 12,
            packetLossPct: random() * 2,
            packetsSent: 100,
            mos: 3.5 + random(),
          }
        : {
            ...common,
            probeId: `agent-${i % 89}`,
            probeType: 'agent',
            attempts: 120,
            successes: 118 + Math.floor(random() * 3),
            throughputKbps: 20_000 + random() * 80_000,
          };
    case 'contact': {
      const abandoned = random() < 0.12;
      return {
        ...common,
        channel: random() < 0.7 ? 'voice' : 'chat',
        queue: random() < 0.5 ? 'billing' : 'technical',
        waitSec: Math.floor(random() * 120),
        abandoned,
        ...(abandoned
          ? {}
          : { handleSec: 120 + Math.floor(random() * 600), resolved: random() < 0.75, transfers: random() < 0.1 ? 1 : 0 }),
      };
    }
    case 'survey': {
      const kind = (['nps', 'csat', 'ces'] as const)[Math.floor(random() * 3)] ?? 'nps';
      const max = kind === 'nps' ? 10 : kind === 'csat' ? 5 : 7;
      const min = kind === 'nps' ? 0 : 1;
      return { ...common, kind, score: min + Math.floor(random() * (max - min + 1)), touchpoint: 'app' };
    }
    default:
      // Half the posts carry text only, so the sentiment library runs at ingest, as in production.
      return random() < 0.5
        ? { ...common, platform: 'x', text: POSTS[i % POSTS.length] ?? '', reach: 100 + Math.floor(random() * 5000) }
        : { ...common, platform: 'x', sentiment: random() * 2 - 1 };
  }
}

/** The record on the bus for one event (validated and timestamped as ingest does), without encoding. */
export function toRecord(source: BenchSource, input: Record<string, unknown>, receivedAt: number): Record<string, unknown> {
  const definition = SOURCES[source] as unknown as SourceDefinition<unknown, Record<string, unknown>>;
  return definition.toRecord(definition.input.parse(input), receivedAt);
}

export function* stream(spec: StreamSpec): Generator<BenchEvent> {
  const random = seededRandom(spec.seed ?? 20_261_123);
  for (let i = 0; i < spec.events; i += 1) yield benchEvent(i, spec, random);
}

/** The Avro messages ingest would produce for these events (validated, timestamped, encoded). */
export function encode(events: Iterable<BenchEvent>, receivedAt = Date.now()): Map<string, OutgoingMessage[]> {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const e of events) {
    const definition = SOURCES[e.source] as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor(e.source);
    const record = definition.toRecord(definition.input.parse(e.input), receivedAt);
    const topic = topicForSource(e.source);
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

/** NDJSON bodies of at most `batch` events, one source per body (the route is per source). */
export function ndjsonBodies(
  events: Iterable<BenchEvent>,
  batch: number,
): Array<{ source: BenchSource; body: string; count: number }> {
  const open = new Map<BenchSource, string[]>();
  const out: Array<{ source: BenchSource; body: string; count: number }> = [];
  for (const e of events) {
    const lines = open.get(e.source) ?? [];
    lines.push(JSON.stringify(e.input));
    open.set(e.source, lines);
    if (lines.length >= batch) {
      out.push({ source: e.source, body: lines.join('\n'), count: lines.length });
      open.set(e.source, []);
    }
  }
  for (const [source, lines] of open) if (lines.length > 0) out.push({ source, body: lines.join('\n'), count: lines.length });
  return out;
}
