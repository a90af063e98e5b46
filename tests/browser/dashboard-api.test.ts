import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { BusinessGauges } from '../../services/dashboard/business-gauges.ts';
import { LandingWatcher } from '../../services/dashboard/landing-watcher.ts';
import { createLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { startPipelineWith } from '../prometheus/harness.ts';
import { readHeaders } from '../support/auth.ts';
import { eventually, getJson, postJson } from '../support/pipeline.ts';

/**
 * The server side of the dashboard, without a browser: the raw-events drill-down route,
 * the live stream, the filter metadata and goal summary, and the two background readers
 * (business gauges equal to the API's numbers; window landing timed once per window).
 */

const MIN = 60_000;
const FIVE = 5 * MIN;
// The last whole five minutes: every event below is placed inside them.
const T = Math.floor(Date.now() / FIVE) * FIVE;
const FROM = T - FIVE;
const log = createLogger('warn');
let pipeline: Pipeline;

type Body = Record<string, unknown>;
const at = (m: number, s: number) => FROM + m * MIN + s * 1000;

beforeAll(async () => {
  pipeline = await startPipelineWith(
    { CXV_ALLOWED_LATENESS_MS: '1800000' },
    { dashboard: { livePollMs: 500, liveHeartbeatMs: 500 } },
  );
  const probes = [
    { eventId: 'p1', ts: at(0, 5), probeType: 'active', success: true },
    { eventId: 'p2', ts: at(1, 5), probeType: 'active', success: false },
    { eventId: 'p3', ts: at(2, 5), probeType: 'agent', attempts: 10, successes: 7 },
    { eventId: 'p4', ts: at(3, 5), probeType: 'agent', attempts: 10, successes: 10 },
  ].map((p) => ({ ...p, service: 'voice', region: 'east', probeId: `probe-${p.probeType}`, latencyMs: 40 }));
  const contacts = [
    { eventId: 'c1', ts: at(0, 10), waitSec: 10, abandoned: false, handleSec: 300, resolved: true },
    { eventId: 'c2', ts: at(1, 10), waitSec: 95, abandoned: false, handleSec: 200, resolved: false },
    { eventId: 'c3', ts: at(2, 10), waitSec: 40, abandoned: true },
  ].map((c) => ({ ...c, service: 'voice', region: 'east', segment: 'consumer', channel: 'voice', queue: 'billing' }));
  const surveys = [
    { eventId: 's1', ts: at(1, 20), kind: 'nps', score: 9 },
    { eventId: 's2', ts: at(2, 20), kind: 'nps', score: 3 },
    { eventId: 's3', ts: at(3, 20), kind: 'csat', score: 5 },
  ].map((s) => ({ ...s, service: 'voice', region: 'east' }));
  const social = [
    { eventId: 'm1', ts: at(1, 30), sentiment: -0.6 },
    { eventId: 'm2', ts: at(2, 30), sentiment: 0.4 },
  ].map((m) => ({ ...m, service: 'voice', region: 'east', platform: 'x' }));
  for (const [source, events] of [
    ['probe', probes],
    ['contact', contacts],
    ['survey', surveys],
    ['social', social],
  ] as const) {
    expect((await postJson(`${pipeline.url}/api/v1/events/${source}`, events)).status).toBe(200);
  }
  await eventually('every posted event to be stored', async () => {
    const totals = await Promise.all(
      ['probe', 'contact', 'survey', 'social'].map(
        async (s) =>
          (await getJson<{ total: number }>(`${pipeline.url}/api/v1/events?source=${s}&service=voice&from=${FROM}&to=${T}`)).body
            .total,
      ),
    );
    return totals.join() === '4,3,3,2' ? totals : undefined;
  });
}, 120_000);

afterAll(async () => {
  await pipeline?.stop();
}, 60_000);

describe('GET /api/v1/events (drill-down to raw events)', () => {
  it('lists the events of a window with the problems first and counts both', async () => {
    const { status, body } = await getJson<Body & { events: Array<Body & { payload: Body }> }>(
      `${pipeline.url}/api/v1/events?source=probe&service=voice&region=east&from=${FROM}&to=${T}`,
    );
    expect(status).toBe(200);
    expect(body.total).toBe(4);
    expect(body.problems).toBe(2);
    expect(body.problemMeaning).toBe('failed tests (successes < attempts)');
    expect(body.events.map((e) => [e.eventId, e.problem])).toEqual([
      ['p2', true],
      ['p3', true],
      ['p1', false],
      ['p4', false],
    ]);
    expect(body.events[1]?.payload).toMatchObject({ probeType: 'agent', attempts: 10, successes: 7 });
    expect(body.events[0]?.ts).toBe(new Date(at(1, 5)).toISOString());
  });

  it('returns only problems with problem=true: abandoned or slow contacts, detractors, negative posts', async () => {
    const ids = async (source: string) =>
      (
        await getJson<{ events: Array<{ eventId: string }> }>(
          `${pipeline.url}/api/v1/events?source=${source}&service=voice&from=${FROM}&to=${T}&problem=true`,
        )
      ).body.events.map((e) => e.eventId);
    expect(await ids('contact')).toEqual(['c2', 'c3']);
    expect(await ids('survey')).toEqual(['s2']);
    expect(await ids('social')).toEqual(['m1']);
    // A window of one minute holds only its own events.
    const minute = await getJson<{ total: number }>(
      `${pipeline.url}/api/v1/events?source=probe&service=voice&from=${at(1, 0)}&to=${at(2, 0)}`,
    );
    expect(minute.body.total).toBe(1);
  });

  it('answers 400 with a field for an unknown source, a reversed or too long range and a limit over 1000; no range is the last hour', async () => {
    const bad = async (query: string) => (await getJson<Body>(`${pipeline.url}/api/v1/events?${query}`)).body;
    expect(await bad(`source=nope&from=${FROM}&to=${T}`)).toMatchObject({
      code: 'UNKNOWN_SOURCE',
      errors: [{ field: 'querystring.source' }],
    });
    expect(await bad(`source=maintenance&from=${FROM}&to=${T}`)).toMatchObject({ code: 'UNKNOWN_SOURCE' });
    expect(await bad(`source=probe&from=${T}&to=${FROM}`)).toMatchObject({
      code: 'INVALID_REQUEST',
      errors: [{ field: 'querystring.to' }],
    });
    expect(await bad(`source=probe&from=${T - 8 * 86_400_000}&to=${T}`)).toMatchObject({ code: 'RANGE_TOO_LONG' });
    expect(await bad(`source=probe&from=${FROM}&to=${T}&limit=5000`)).toMatchObject({ code: 'INVALID_REQUEST' });
    // Without from/to the drill-down reads the last hour, like every other read.
    const lastHour = (await bad('source=probe')) as unknown as { from: string; to: string };
    expect(Date.parse(lastHour.to) - Date.parse(lastHour.from)).toBe(3_600_000);
  });
});

describe('dashboard metadata and goal summary', () => {
  it('offers the catalogue services, the regions seen in the data, the model segments and products', async () => {
    const { body } = await getJson<{
      services: Array<{ name: string; partners: string[] }>;
      regions: string[];
      segments: string[];
      products: Array<{ name: string }>;
      kpis: Record<string, { source: string }>;
    }>(`${pipeline.url}/api/v1/dashboard/meta`);
    expect(body.services.map((s) => s.name)).toEqual(['mobile-data', 'voice', 'broadband', 'iptv']);
    expect(body.services.find((s) => s.name === 'iptv')?.partners).toEqual(['Streamcast CDN']);
    expect(body.regions).toEqual(['east']);
    expect(body.segments).toEqual(['consumer', 'business', 'vip']);
    expect(body.products.map((p) => p.name)).toEqual(['mobile-plan', 'home-internet', 'home-bundle']);
    expect(body.kpis.asa_sec?.source).toBe('contact');
    expect(body.kpis.serviceability?.source).toBe('probe');
    expect(body.kpis.social_negative_share?.source).toBe('social');
  });

  it('summarises the newest evaluation of each goal still in play', async () => {
    const row = (goal: string, minutesAgo: number, status: string, final = 0, periodEndDaysAgo = -30) => ({
      goal_id: goal,
      goal_kind: 'org',
      cycle_id: 'cy-1',
      evaluated_at: Date.now() - minutesAgo * MIN,
      window_from: Date.now() - 86_400_000,
      window_to: Date.now(),
      period_end: Date.now() - periodEndDaysAgo * 86_400_000,
      status,
      value: 0.99,
      numerator: null,
      denominator: null,
      comparator: '>=',
      target: 0.995,
      warning: 0.997,
      attainment: null,
      budget_remaining: null,
      burn_rate: null,
      final,
      detail: '{}',
    });
    await pipeline.store.insert('goals_evaluations', [
      row('og-a', 30, 'on_track'),
      row('og-a', 5, 'at_risk'),
      row('og-b', 10, 'off_track'),
      row('og-c', 60 * 24 * 3, 'missed', 1, 2),
    ]);
    const { body } = await getJson<{
      counts: Record<string, number>;
      goals: Array<{ goalId: string; status: string; target: number }>;
    }>(`${pipeline.url}/api/v1/dashboard/goals`);
    expect(body.counts).toEqual({ on_track: 0, at_risk: 1, off_track: 1, achieved: 0, missed: 0, no_data: 0, not_measured: 0 });
    expect(body.goals.map((g) => [g.goalId, g.status, g.target])).toEqual([
      ['og-a', 'at_risk', 0.995],
      ['og-b', 'off_track', 0.995],
    ]);
  });
});

describe('GET /api/v1/live (server-sent events)', () => {
  it('says hello with the data freshness, then announces windows as they land', async () => {
    const controller = new AbortController();
    const res = await fetch(`${pipeline.url}/api/v1/live`, { signal: controller.signal, headers: readHeaders() });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const next = async (event: string) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const match = new RegExp(`event: ${event}\\ndata: (.*)\\n\\n`).exec(text);
        if (match) {
          text = text.slice((match.index ?? 0) + match[0].length);
          return JSON.parse(match[1] ?? '{}') as Record<string, unknown>;
        }
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      throw new Error(`no "${event}" event within 30 s; got: ${text.slice(0, 500)}`);
    };
    try {
      const hello = await next('hello');
      expect(hello.staleAfterMs).toBe(180_000);
      expect(hello.serverTime).toBeGreaterThan(T);
      // The watcher polls the store: its freshness catches up with the rows written above.
      let status = hello;
      while (status.newestWindowEnd !== at(4, 0)) status = await next('status');
      // Before the five minutes the gauge tests read, so they see voice/east alone.
      const probe = {
        eventId: 'live-1',
        ts: FROM - 2 * MIN,
        service: 'iptv',
        region: 'east',
        probeId: 'x',
        probeType: 'active',
        success: true,
      };
      expect((await postJson(`${pipeline.url}/api/v1/events/probe`, [probe])).status).toBe(200);
      let landed = await next('windows');
      while (!(landed.services as string[]).includes('iptv')) landed = await next('windows');
      expect(landed.services).toEqual(['iptv']);
      expect(landed.newWindows).toBeGreaterThanOrEqual(1);
      // An older window does not move the newest end.
      expect(landed.newestWindowEnd).toBe(at(4, 0));
    } finally {
      controller.abort();
    }
  });
});

describe('business gauges', () => {
  it('export the CSI, KQIs, Availability and Serviceability the API computes for the same five minutes', async () => {
    const metrics = createMetrics();
    const gauges = new BusinessGauges({
      store: pipeline.store,
      metrics,
      model: pipeline.model,
      excuseRetroactive: false,
      log,
      now: () => T + 1000,
    });
    const update = await gauges.update();
    expect(update).toEqual({ from: FROM, to: T, pairs: 1, omitted: 0 });
    const q = `service=voice&region=east&from=${FROM}&to=${T}&step=5m`;
    const csi = (
      await getJson<{ buckets: Array<{ csi: number; coverage: number; kqis: Array<{ kqi: string; score: number | null }> }> }>(
        `${pipeline.url}/api/v1/csi?${q}`,
      )
    ).body.buckets;
    const availability = (
      await getJson<{ total: { availability: number; serviceability: number } }>(`${pipeline.url}/api/v1/availability?${q}`)
    ).body.total;
    expect(csi).toHaveLength(1);
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) =>
        Object.entries({ service: 'voice', region: 'east', ...labels }).every(([k, l]) => v.labels[k] === l),
      )?.value;
    expect(await value('cxv_csi_score')).toBe(csi[0]?.csi);
    expect(await value('cxv_csi_coverage_ratio')).toBe(csi[0]?.coverage);
    for (const k of csi[0]?.kqis ?? []) expect(await value('cxv_kqi_score', { kqi: k.kqi })).toBe(k.score ?? undefined);
    expect(await value('cxv_serviceability_ratio')).toBe(availability.serviceability);
    // 1 + 0 + 7 + 10 successes of 1 + 1 + 10 + 10 attempts.
    expect(await value('cxv_serviceability_ratio')).toBe(18 / 22);
    expect(await value('cxv_availability_ratio')).toBe(availability.availability);
  });

  it('drop the series of a pair with no data in the window, so its alerts resolve', async () => {
    const metrics = createMetrics();
    let now = T + 1000;
    const gauges = new BusinessGauges({
      store: pipeline.store,
      metrics,
      model: pipeline.model,
      excuseRetroactive: false,
      log,
      now: () => now,
    });
    await gauges.update();
    expect(await metrics.registry.getSingleMetric('cxv_csi_score')?.get()).toMatchObject({
      values: [{ labels: { service: 'voice' } }],
    });
    now = T + 3 * FIVE;
    expect(await gauges.update()).toMatchObject({ pairs: 0 });
    for (const name of ['cxv_csi_score', 'cxv_kqi_score', 'cxv_serviceability_ratio', 'cxv_availability_ratio']) {
      expect((await metrics.registry.getSingleMetric(name)?.get())?.values, name).toEqual([]);
    }
  });

  it('cap the exported (service, region) pairs and count the rest', async () => {
    const metrics = createMetrics();
    const gauges = new BusinessGauges({
      store: pipeline.store,
      metrics,
      model: pipeline.model,
      excuseRetroactive: false,
      log,
      now: () => T + 1000,
      maxPairs: 0,
    });
    expect(await gauges.update()).toMatchObject({ pairs: 0, omitted: 1 });
    expect((await metrics.registry.getSingleMetric('cxv_business_gauges_omitted_pairs')?.get())?.values[0]?.value).toBe(1);
  });
});

describe('window landing', () => {
  /**
   * The watchers below poll only when the test calls poll(): a poll of their own timer
   * would take a landing first (its notice goes to subscribers, of which there are none
   * here), and the test's poll would then find nothing new.
   */
  const ONLY_EXPLICIT_POLLS = 3_600_000;
  /** A histogram's samples, each with its series name (`_bucket`, `_sum`, `_count`). */
  const samples = async (metrics: ReturnType<typeof createMetrics>) =>
    ((await metrics.registry.getSingleMetric('cxv_window_close_delay_seconds')?.get())?.values ?? []) as Array<{
      metricName?: string;
      labels: Record<string, string | number>;
      value: number;
    }>;
  const histogramCount = async (metrics: ReturnType<typeof createMetrics>) =>
    (await samples(metrics))
      .filter((v) => v.metricName === 'cxv_window_close_delay_seconds_count')
      .reduce((n, v) => n + v.value, 0);

  /**
   * Polls until `windows` windows have landed, summing the notices: a flush writes its
   * tables one insert at a time (probe_kpi_1m, then kpi_1m), so a poll can fall between them.
   */
  const landedWindows = async (watcher: LandingWatcher, windows: number) => {
    let newWindows = 0;
    let newestWindowEnd: number | null = null;
    const services = new Set<string>();
    await eventually(`${windows} new windows to land`, async () => {
      const landed = await watcher.poll();
      if (landed) {
        newWindows += landed.newWindows;
        newestWindowEnd = landed.newestWindowEnd;
        for (const s of landed.services) services.add(s);
      }
      return newWindows >= windows ? true : undefined;
    });
    return { newWindows, newestWindowEnd, services: [...services].sort() };
  };

  it('times a window that lands while it watches once, from its event-time end to its first row', async () => {
    const metrics = createMetrics();
    // A watcher whose clock runs ten minutes behind: it started before the windows below ended.
    const watcher = new LandingWatcher({
      store: pipeline.store,
      metrics,
      log,
      pollMs: ONLY_EXPLICIT_POLLS,
      now: () => Date.now() - 10 * MIN,
    });
    await watcher.start();
    const probe = {
      eventId: 'land-1',
      ts: at(4, 30),
      service: 'broadband',
      region: 'west',
      probeId: 'y',
      probeType: 'active',
      success: true,
    };
    const postedAt = Date.now();
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, [probe])).status).toBe(200);
    // One probe lands two windows: its Availability counts (probe_kpi_1m) and its probe KPIs (kpi_1m).
    expect(await landedWindows(watcher, 2)).toEqual({ services: ['broadband'], newWindows: 2, newestWindowEnd: T });
    const sum = (await samples(metrics)).find(
      (v) => v.metricName === 'cxv_window_close_delay_seconds_sum' && v.labels.family === 'availability',
    )?.value;
    expect(await histogramCount(metrics)).toBe(2);
    expect(sum).toBeGreaterThanOrEqual((postedAt - T) / 1000);
    expect(sum).toBeLessThan((Date.now() - T) / 1000);
    // Read again through the overlap: not a new landing.
    expect(await watcher.poll()).toBeUndefined();
    expect(await histogramCount(metrics)).toBe(2);
    await watcher.stop();
  });

  it('announces but does not time windows that ended before it started (history, replays)', async () => {
    const metrics = createMetrics();
    const watcher = new LandingWatcher({ store: pipeline.store, metrics, log, pollMs: ONLY_EXPLICIT_POLLS });
    await watcher.start();
    expect(await watcher.poll()).toBeUndefined();
    const probe = {
      eventId: 'land-2',
      ts: at(3, 30),
      service: 'broadband',
      region: 'south',
      probeId: 'z',
      probeType: 'active',
      success: true,
    };
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, [probe])).status).toBe(200);
    expect(await landedWindows(watcher, 2)).toMatchObject({ services: ['broadband'], newWindows: 2 });
    expect(await histogramCount(metrics)).toBe(0);
    await watcher.stop();
  });
});
