import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AvailabilityReport } from '../../services/api/availability.ts';
import type { Pipeline } from '../../services/app.ts';
import { generateIngestToken, hashIngestToken } from '../../services/ingest/auth.ts';
import { readHeaders } from '../support/auth.ts';
import {
  allConsumed,
  eventually,
  getJson,
  metricValue,
  postJson,
  startTestPipeline,
  testIngestToken,
} from '../support/pipeline.ts';

/**
 * The embedded stack end to end, in-process: HTTP ingest → Avro on the mock Kafka →
 * aggregator windows → chDB → the availability API, checked against values computed
 * by hand (see the table in each test).
 */

const MIN = 60_000;
// A whole past hour, so every window can close.
const H0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const at = (m: number, s = 0) => H0 + m * MIN + s * 1000;

let pipeline: Pipeline;
/** Declarations made before cxvitals received them need this (tests/security/maintenance-honesty.test.ts). */
const history = generateIngestToken('maintenance-history');
let dataDir: string;

const probe = (id: string, ts: number, region: string, fields: Record<string, unknown>) => ({
  eventId: id,
  ts: new Date(ts).toISOString(),
  service: 'voice',
  region,
  probeId: `p-${region}`,
  probeType: 'agent',
  ...fields,
});

async function availability(query: string): Promise<AvailabilityReport> {
  const { status, body } = await getJson<AvailabilityReport>(`${pipeline.url}/api/v1/availability?${query}`);
  expect(status).toBe(200);
  return body;
}

const range = `from=${new Date(H0).toISOString()}&to=${new Date(H0 + 3_600_000).toISOString()}`;

async function waitForAttempts(query: string, attempts: number) {
  let seen = -1;
  return eventually(`hourly attempts = ${attempts} (last seen ${seen})`, async () => {
    const r = await availability(query);
    seen = r.total.attempts;
    return r.total.attempts === attempts ? r : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${seen}`);
  });
}

beforeAll(async () => {
  // The demo token for every source, and a maintenance-history token for the declaration made a day ahead.
  pipeline = await startTestPipeline({
    CXV_INGEST_TOKENS: [`*:${hashIngestToken(testIngestToken())}`, history.entry].join(','),
  });
  dataDir = pipeline.config.dataDir;
}, 120_000);

afterAll(async () => {
  await pipeline?.stop();
});

describe('embedded pipeline: probe and maintenance events to Availability and Serviceability', () => {
  it('/healthz reports bus and store up', async () => {
    const { status, body } = await getJson<{ status: string; bus: { ok: boolean }; store: { ok: boolean } }>(
      `${pipeline.url}/healthz`,
    );
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.bus.ok).toBe(true);
    expect(body.store.ok).toBe(true);
  });

  it('computes exact per-minute and hourly values; the hour is the ratio of summed counts', async () => {
    // Maintenance first, as change management would: one declared a day ahead, one declared late.
    const m = await postJson(
      `${pipeline.url}/api/v1/events/maintenance`,
      [
        { maintenanceId: 'planned-1', service: 'voice', region: 'north', start: at(2), end: at(3), declaredAt: H0 - 86_400_000 },
        { maintenanceId: 'retro-1', service: 'voice', region: 'north', start: at(3, 30), end: at(4), declaredAt: at(3, 45) },
      ],
      'application/json',
      { authorization: `Bearer ${history.token}` },
    );
    expect(m.status).toBe(200);
    await eventually('both maintenance windows stored', async () => {
      const r = await availability(`service=voice&region=north&${range}&step=1h`);
      return r.maintenance.length === 2 ? r : undefined;
    });

    const ndjson = [
      // minute 0: counter 100/90, single ok, single fail → 102 attempts, 91 successes
      probe('n0a', at(0, 5), 'north', { attempts: 100, successes: 90 }),
      probe('n0b', at(0, 10), 'north', { success: true }),
      probe('n0c', at(0, 59.999), 'north', { success: false }),
      // another region, same hour: 50/50 (in event-time order: both keys may share a partition)
      probe('s0a', at(0, 20), 'south', { attempts: 50, successes: 50 }),
      // minute 1: one failed test → 1, 0
      probe('n1a', at(1, 30), 'north', { success: false }),
      // minute 2: all inside planned maintenance → 10, 0 (planned 10)
      probe('n2a', at(2, 10), 'north', { attempts: 10, successes: 0 }),
      // minute 3: 20/20 before the retroactive window, 20/5 inside it
      probe('n3a', at(3, 10), 'north', { attempts: 20, successes: 20 }),
      probe('n3b', at(3, 40), 'north', { attempts: 20, successes: 5 }),
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const posted = await postJson(`${pipeline.url}/api/v1/events/probe`, ndjson, 'application/x-ndjson');
    expect(posted.status).toBe(200);
    expect(posted.body.accepted).toBe(8);

    await waitForAttempts(`service=voice&${range}&step=1h`, 203);
    const minutes = await availability(`service=voice&region=north&${range}&step=1m`);
    expect(
      minutes.buckets.map((b) => [
        b.start,
        b.attempts,
        b.successes,
        b.plannedExcludedAttempts,
        b.retroactiveAttempts,
        b.serviceability,
        b.availability,
      ]),
    ).toEqual([
      [new Date(at(0)).toISOString(), 102, 91, 0, 0, 91 / 102, 91 / 102],
      [new Date(at(1)).toISOString(), 1, 0, 0, 0, 0, 0],
      [new Date(at(2)).toISOString(), 10, 0, 10, 0, 0, null],
      [new Date(at(3)).toISOString(), 40, 25, 0, 20, 25 / 40, 25 / 40],
    ]);

    const hour = await availability(`service=voice&region=north&${range}&step=1h`);
    expect(hour.buckets).toHaveLength(1);
    const h = hour.buckets[0];
    expect([h?.attempts, h?.successes, h?.plannedExcludedAttempts]).toEqual([153, 116, 10]);
    expect(h?.serviceability).toBe(116 / 153);
    expect(h?.availability).toBe(116 / 143);
    // Not the mean of the minute ratios:
    expect(h?.serviceability).not.toBeCloseTo((91 / 102 + 0 + 0 + 25 / 40) / 4, 3);

    // Excusing the retroactive window (a query-time choice) removes its 20 attempts too.
    const excused = await availability(`service=voice&region=north&${range}&step=1h&excuseRetroactive=true`);
    expect(excused.buckets[0]?.availability).toBe(111 / 123);

    // All regions: exact sums across regions; the north-only maintenance excuses only north.
    const all = await availability(`service=voice&${range}&step=1h`);
    expect([all.total.attempts, all.total.successes]).toEqual([203, 166]);
    expect(all.total.availability).toBe(166 / 193);

    expect(hour.maintenance.map((w) => [w.maintenanceId, w.retroactive, w.excused])).toEqual([
      ['planned-1', false, true],
      ['retro-1', true, false],
    ]);
  });

  it('an event later than the allowed lateness is stored in late_events and counted, not added', async () => {
    // The partition has been idle, so its watermark follows the wall clock: hours past this window.
    const res = await postJson(`${pipeline.url}/api/v1/events/probe`, [
      probe('late-1', at(0, 30), 'south', { attempts: 7, successes: 7 }),
    ]);
    expect(res.status).toBe(200);
    const rows = await eventually('the late event stored', async () => {
      const r = await pipeline.store.query<{ event_id: string; service: string; region: string }>(
        `SELECT event_id, service, region FROM ${pipeline.store.table('late_events')} FINAL WHERE event_id = {id:String}`,
        { id: 'late-1' },
      );
      return r.length > 0 ? r : undefined;
    });
    expect(rows).toEqual([{ event_id: 'late-1', service: 'voice', region: 'south' }]);
    const metrics = await (await fetch(`${pipeline.url}/metrics`, { headers: readHeaders() })).text();
    expect(metricValue(metrics, 'cxv_aggregator_messages_total', { source: 'probe', outcome: 'too_late' })).toBe(1);
    const all = await availability(`service=voice&${range}&step=1h`);
    expect(all.total.attempts).toBe(203);
  });

  it('a bad batch gets 400 with the index and field of each bad event; the valid ones are accepted and counted', async () => {
    const before = await (await fetch(`${pipeline.url}/metrics`, { headers: readHeaders() })).text();
    const now = Date.now();
    const res = await postJson(`${pipeline.url}/api/v1/events/probe`, [
      { eventId: 'ok-1', ts: now, service: 'iptv', region: 'west', probeId: 'x', probeType: 'active', success: true },
      { eventId: 'bad-1', ts: now, service: 'iptv', region: 'west', probeId: 'x', probeType: 'active', success: 'yes' },
      { eventId: 'bad-2', ts: 'yesterday', service: 'iptv', probeId: 'x', probeType: 'active', success: true },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toBe(2);
    expect((res.body.errors as Array<{ index: number; field: string }>).map((e) => [e.index, e.field])).toEqual([
      [1, 'success'],
      [2, 'ts'],
      [2, 'region'],
    ]);
    const after = await (await fetch(`${pipeline.url}/metrics`, { headers: readHeaders() })).text();
    const delta = (name: string, labels: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('cxv_ingest_events_received_total', { source: 'probe' })).toBe(3);
    expect(delta('cxv_ingest_events_accepted_total', { source: 'probe' })).toBe(1);
    expect(delta('cxv_ingest_events_rejected_total', { source: 'probe' })).toBe(2);
    expect(delta('cxv_bus_messages_produced_total', { topic: 'cx.probe.v1' })).toBe(1);
    // Over the whole run the edge adds up, and everything produced reaches the aggregator.
    expect(metricValue(after, 'cxv_ingest_events_received_total')).toBe(
      metricValue(after, 'cxv_ingest_events_accepted_total') + metricValue(after, 'cxv_ingest_events_rejected_total'),
    );
    await allConsumed(pipeline.url);
  });

  it('refuses an unknown source, a wrong content type and an unparsable body with the one error shape', async () => {
    const unknown = await postJson(`${pipeline.url}/api/v1/events/telepathy`, []);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'UNKNOWN_SOURCE']);
    const wrongType = await fetch(`${pipeline.url}/api/v1/events/probe`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${testIngestToken()}` },
      body: 'a,b',
    });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const broken = await postJson(`${pipeline.url}/api/v1/events/probe`, '[{"eventId": ');
    expect(broken.status).toBe(400);
    expect((broken.body.errors as Array<{ field: string }>)[0]?.field).toBe('(body)');
    const badQuery = await getJson<{ code: string; errors: Array<{ field: string }> }>(
      `${pipeline.url}/api/v1/availability?service=voice&step=7x`,
    );
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors.map((e) => e.field)).toEqual(['querystring.step']);
  });

  it('a restart keeps the data, and events for an already written window add to it', async () => {
    await pipeline.stop();
    pipeline = await startTestPipeline({}, dataDir);
    const kept = await availability(`service=voice&region=north&${range}&step=1h`);
    expect(kept.total.attempts).toBe(153);
    // A late counter sample for minute 1, after the restart: 1 attempt becomes 11.
    const res = await postJson(`${pipeline.url}/api/v1/events/probe`, [
      probe('n1b', at(1, 50), 'north', { attempts: 10, successes: 10 }),
    ]);
    expect(res.status).toBe(200);
    const after = await waitForAttempts(`service=voice&region=north&${range}&step=1h`, 163);
    expect(after.total.successes).toBe(126);
    const minutes = await availability(`service=voice&region=north&${range}&step=1m`);
    expect(minutes.buckets[1]).toMatchObject({ attempts: 11, successes: 10 });
  });
});
