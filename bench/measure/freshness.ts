import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { startBroker } from '../lib/broker.ts';
import { type BenchSource, inputFor, prng, SERVICES } from '../lib/events.ts';
import { type LoadBody, poster } from '../lib/load.ts';
import { percentile } from '../lib/stats.ts';
import { Worker } from '../lib/worker-host.ts';
import type { ServerInfo, ServerRequest, WindowWrite } from '../workers/server.ts';

/**
 * Freshness, side by side: one stream posted to the pipeline's ingest; the pipeline
 * (ingest + aggregator + API, default settings) and the alternative (raw rows + KPIs by
 * SQL) both read it from Kafka. For every tracked (service, region) and minute window,
 * the clock starts when the window closes — the first acknowledged event at or beyond
 * window end + out-of-orderness, which is when the watermark passes the window's end —
 * and stops when that window's CSI is readable and complete: through GET /api/v1/csi
 * with /api/v1/availability counting every probe sample sent (pipeline), or from the
 * alternative's read endpoint counting every event sent.
 *
 * Event time runs `speed` times faster than the wall clock (CXV_MAX_FUTURE_MS is raised
 * so it may run ahead), so a run of a minute or two closes a dozen windows; everything
 * after a window's close (consume, flush, insert, read) runs on the wall clock.
 */

export interface FreshnessFigures {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Closed windows that never became readable and complete within the grace period. */
  missing: number;
}

/**
 * The pipeline's delay in two parts, per window: close → its last row stored (the
 * closing event through Kafka to the aggregator, the watermark, the flush and its inserts;
 * `written_at` on the store's clock), then stored → readable (the API's read, and the
 * poll's own 20 ms step).
 */
export interface FreshnessBreakdown {
  windows: number;
  stored: { p50Ms: number; p99Ms: number };
  read: { p50Ms: number; p99Ms: number };
  /** One GET /api/v1/csi, asked while windows were pending (the poll sends one per pending window at a time). */
  csiAnswer: { p50Ms: number; p99Ms: number; requests: number };
  /** Windows whose last row was written before they closed (a checkpoint already held their final counts). */
  storedBeforeClose: number;
}

export interface FreshnessResult {
  client: KafkaClientKind;
  pipeline: FreshnessFigures;
  breakdown?: FreshnessBreakdown;
  alternative: FreshnessFigures;
  ingestLatency: { p50Ms: number; p99Ms: number };
  csiAgreement: { compared: number; maxAbsDiff: number };
  settings: { durationSec: number; eventsPerSec: number; speed: number; keys: number; tracked: number; outOfOrdernessMs: number };
}

const MINUTE = 60_000;
const OUT_OF_ORDERNESS_MS = 5_000;
const TICK_MS = 100;
/** How long a window's pipeline CSI is re-read after it first looked complete. */
const SETTLE_MS = 2_000;

interface WindowState {
  service: string;
  region: string;
  start: number;
  probes: number;
  events: number;
  closedAt?: number;
  /** Pipeline answers once the probe counts were complete: the window is readable from the first answer equal to the last. */
  pipelineSeen: Array<{ at: number; csi: number }>;
  pipelineAt?: number;
  alternativeAt?: number;
  pipelineCsi?: number | null;
  alternativeCsi?: number | null;
}

export async function measureFreshness(o: {
  client: KafkaClientKind;
  durationSec: number;
  eventsPerSec: number;
  speed: number;
}): Promise<FreshnessResult> {
  const broker = await startBroker();
  const server = new Worker<unknown>('server', {
    brokers: broker.brokers,
    client: o.client,
    roles: ['ingest', 'aggregator', 'api'],
    env: { CXV_MAX_FUTURE_MS: String(3_600_000) },
  });
  const alt = new Worker<unknown>('alt-server', { brokers: broker.brokers, client: o.client });
  try {
    const info = (await server.ready) as ServerInfo;
    const altInfo = (await alt.ready) as { url: string };
    const regions = ['region-0', 'region-1', 'region-2', 'region-3'];
    const keys = SERVICES.flatMap((service) => regions.map((region) => ({ service, region })));
    const tracked = keys.filter((_, i) => i % 2 === 0);
    const windows = new Map<string, WindowState>();
    const windowOf = (service: string, region: string, start: number) => {
      const id = `${service}|${region}|${start}`;
      let w = windows.get(id);
      if (!w) {
        w = { service, region, start, probes: 0, events: 0, pipelineSeen: [] };
        windows.set(id, w);
      }
      return w;
    };
    const isTracked = (w: WindowState) => tracked.some((k) => k.service === w.service && k.region === w.region);
    const { post, close } = poster(info.url, info.token, 8);
    const ingestLatency: number[] = [];
    const t0 = Math.floor((Date.now() - 3 * MINUTE) / MINUTE) * MINUTE;
    const random = prng(99);
    let serial = 0;
    let generating = true;
    const started = performance.now();

    const generator = (async () => {
      for (let tick = 0; performance.now() - started < o.durationSec * 1000; tick += 1) {
        const due = started + tick * TICK_MS;
        if (due > performance.now()) await sleep(due - performance.now());
        const from = t0 + tick * TICK_MS * o.speed;
        const bySource = new Map<BenchSource, string[]>();
        let maxTs = 0;
        for (let i = 0; i < (o.eventsPerSec * TICK_MS) / 1000; i += 1) {
          const key = keys[Math.floor(random() * keys.length)] ?? { service: 'voice', region: 'region-0' };
          const r = random();
          const source: BenchSource = r < 0.5 ? 'probe' : r < 0.75 ? 'contact' : r < 0.9 ? 'survey' : 'social';
          const ts = Math.floor(from + random() * TICK_MS * o.speed);
          maxTs = Math.max(maxTs, ts);
          serial += 1;
          const input = inputFor(source, { eventId: `fr-${serial}`, ts, ...key, segment: 'consumer' }, serial, random);
          bySource.set(source, [...(bySource.get(source) ?? []), JSON.stringify(input)]);
          const w = windowOf(key.service, key.region, Math.floor(ts / MINUTE) * MINUTE);
          w.events += 1;
          if (source === 'probe') w.probes += 1;
        }
        const bodies: LoadBody[] = [...bySource].map(([source, lines]) => ({
          source,
          body: lines.join('\n'),
          count: lines.length,
        }));
        await Promise.all(
          bodies.map(async (b) => {
            for (;;) {
              const sentAt = performance.now();
              const answer = await post(`/api/v1/events/${b.source}`, b.body);
              ingestLatency.push(performance.now() - sentAt);
              if (answer.status === 200) return;
              if (answer.status !== 429 && answer.status !== 503)
                throw new Error(`ingest answered ${answer.status}: ${answer.text}`);
              await sleep(Math.max(100, answer.retryAfterSec * 1000));
            }
          }),
        );
        // The watermark passes a window's end once an event at end + out-of-orderness is in.
        const ackedAt = performance.now();
        for (const w of windows.values()) {
          if (w.closedAt === undefined && maxTs >= w.start + MINUTE + OUT_OF_ORDERNESS_MS) w.closedAt = ackedAt;
        }
      }
      generating = false;
    })();

    /** How long the pipeline's API took to answer the CSI reads above (while windows were pending). */
    const csiAnswerMs: number[] = [];
    const pollPipeline = async (w: WindowState) => {
      const range = `service=${w.service}&region=${w.region}&from=${w.start}&to=${w.start + MINUTE}&step=1m`;
      const askedAt = performance.now();
      const csi = (await (
        await fetch(`${info.url}/api/v1/csi?${range}`, { headers: { authorization: `Bearer ${info.readToken}` } })
      ).json()) as { buckets?: Array<{ csi: number | null }> };
      const at = performance.now();
      csiAnswerMs.push(at - askedAt);
      const bucket = csi.buckets?.[0];
      if (!bucket || bucket.csi === null) return;
      const availability = (await (
        await fetch(`${info.url}/api/v1/availability?${range}`, { headers: { authorization: `Bearer ${info.readToken}` } })
      ).json()) as {
        buckets?: Array<{ samples: number }>;
      };
      if (availability.buckets?.[0]?.samples !== w.probes) return;
      // The families of a window land in one flush, table after table: a read between two
      // inserts sees part of them. Keep reading for a while; the CSI is readable from the
      // first answer that equals the last one.
      w.pipelineSeen.push({ at, csi: bucket.csi });
      const first = w.pipelineSeen[0]?.at ?? at;
      if (at - first < SETTLE_MS) return;
      const final = bucket.csi;
      let readable = at;
      for (let i = w.pipelineSeen.length - 1; i >= 0 && w.pipelineSeen[i]?.csi === final; i -= 1)
        readable = w.pipelineSeen[i]?.at ?? at;
      w.pipelineAt = readable;
      w.pipelineCsi = final;
    };
    const pollAlternative = async (w: WindowState) => {
      const answer = (await (
        await fetch(`${altInfo.url}/window?service=${w.service}&region=${w.region}&from=${w.start}&to=${w.start + MINUTE}`)
      ).json()) as { events: number; csi: number | null };
      if (answer.events !== w.events) return;
      w.alternativeAt = performance.now();
      w.alternativeCsi = answer.csi;
    };
    const poller = async (which: 'pipeline' | 'alternative') => {
      let graceUntil = Number.POSITIVE_INFINITY;
      for (;;) {
        const pending = [...windows.values()].filter(
          (w) =>
            isTracked(w) && w.closedAt !== undefined && (which === 'pipeline' ? w.pipelineAt : w.alternativeAt) === undefined,
        );
        if (!generating) {
          if (graceUntil === Number.POSITIVE_INFINITY) graceUntil = performance.now() + 30_000;
          if (pending.length === 0 || performance.now() > graceUntil) return;
        }
        await Promise.all(pending.map((w) => (which === 'pipeline' ? pollPipeline(w) : pollAlternative(w)).catch(() => {})));
        await sleep(20);
      }
    };
    await Promise.all([generator, poller('pipeline'), poller('alternative')]);
    close();

    const closed = [...windows.values()].filter((w) => isTracked(w) && w.closedAt !== undefined);
    const breakdown = await (async (): Promise<FreshnessBreakdown | undefined> => {
      const readable = closed.filter((w) => w.pipelineAt !== undefined);
      if (readable.length === 0) return undefined;
      const starts = readable.map((w) => w.start);
      const writes = await server.request<WindowWrite[]>({
        kind: 'window-writes',
        services: [...new Set(readable.map((w) => w.service))],
        from: Math.min(...starts),
        to: Math.max(...starts) + MINUTE,
      } satisfies ServerRequest);
      const lastWrite = new Map(writes.map((x) => [`${x.service}|${x.region}|${x.start}`, x.lastWrittenAt]));
      // written_at is the wall clock; the marks above are performance.now() of this process.
      const wall = (t: number) => performance.timeOrigin + t;
      const stored: number[] = [];
      const read: number[] = [];
      let storedBeforeClose = 0;
      for (const w of readable) {
        const at = lastWrite.get(`${w.service}|${w.region}|${w.start}`);
        if (at === undefined || w.closedAt === undefined || w.pipelineAt === undefined) continue;
        if (at < wall(w.closedAt)) storedBeforeClose += 1;
        stored.push(Math.max(0, at - wall(w.closedAt)));
        read.push(Math.max(0, wall(w.pipelineAt) - Math.max(at, wall(w.closedAt))));
      }
      return {
        windows: stored.length,
        stored: { p50Ms: percentile(stored, 50), p99Ms: percentile(stored, 99) },
        read: { p50Ms: percentile(read, 50), p99Ms: percentile(read, 99) },
        csiAnswer: { p50Ms: percentile(csiAnswerMs, 50), p99Ms: percentile(csiAnswerMs, 99), requests: csiAnswerMs.length },
        storedBeforeClose,
      };
    })().catch(() => undefined);
    const figures = (at: (w: WindowState) => number | undefined): FreshnessFigures => {
      const delays = closed.flatMap((w) => {
        const t = at(w);
        return t === undefined || w.closedAt === undefined ? [] : [t - w.closedAt];
      });
      return {
        samples: delays.length,
        p50Ms: percentile(delays, 50),
        p99Ms: percentile(delays, 99),
        maxMs: percentile(delays, 100),
        missing: closed.length - delays.length,
      };
    };
    const both = closed.filter((w) => typeof w.pipelineCsi === 'number' && typeof w.alternativeCsi === 'number');
    return {
      client: o.client,
      pipeline: figures((w) => w.pipelineAt),
      ...(breakdown ? { breakdown } : {}),
      alternative: figures((w) => w.alternativeAt),
      ingestLatency: { p50Ms: percentile(ingestLatency, 50), p99Ms: percentile(ingestLatency, 99) },
      csiAgreement: {
        compared: both.length,
        maxAbsDiff: Math.max(0, ...both.map((w) => Math.abs((w.pipelineCsi ?? 0) - (w.alternativeCsi ?? 0)))),
      },
      settings: {
        durationSec: o.durationSec,
        eventsPerSec: o.eventsPerSec,
        speed: o.speed,
        keys: keys.length,
        tracked: tracked.length,
        outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
      },
    };
  } finally {
    await Promise.race([Promise.all([server.finish(), alt.finish()]), sleep(30_000)]).catch(() => {});
    server.kill();
    alt.kill();
    await broker.stop();
  }
}
