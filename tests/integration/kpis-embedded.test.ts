import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsiMaterializer } from '../../services/aggregator/csi-materializer.ts';
import type { Pipeline } from '../../services/app.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { readKpiBuckets, readKpiBucketsBySegment } from '../../services/shared/vitals/buckets.ts';
import { readHeaders } from '../support/auth.ts';
import { contact, social, survey } from '../support/events.ts';
import { eventually, getJson, metricValue, postJson, startTestPipeline } from '../support/pipeline.ts';

/**
 * Contact-center, survey and social events through the embedded stack to the KPI,
 * KQI and CSI reads, against values computed by hand; duplicates and a replayed
 * backfill batch must not count twice.
 */

const MIN = 60_000;
const H0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
const at = (m: number, s = 0) => new Date(H0 + m * MIN + s * 1000).toISOString();
const range = `service=broadband&region=east&from=${new Date(H0).toISOString()}&to=${new Date(H0 + 3_600_000).toISOString()}`;

let pipeline: Pipeline;

type Kpis = Record<string, number | null>;
async function hourKpis(): Promise<Kpis> {
  const { status, body } = await getJson<{ buckets: Array<{ kpis: Kpis }> }>(`${pipeline.url}/api/v1/kpis?${range}&step=1h`);
  expect(status).toBe(200);
  return body.buckets[0]?.kpis ?? {};
}

beforeAll(async () => {
  pipeline = await startTestPipeline();
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

describe('KPIs, KQIs and CSI from contact, survey and social events', () => {
  it('computes the contact-center, survey and social KPIs of an hour exactly', async () => {
    const contacts = [
      // minute 0: answered in 10 s (handled 300 s, resolved), answered in 30 s (200 s, 1 transfer, not resolved),
      // abandoned after 3 s (short), abandoned after 40 s
      contact('c1', at(0, 1), { waitSec: 10, abandoned: false, handleSec: 300, resolved: true, transfers: 0 }),
      contact('c2', at(0, 2), { waitSec: 30, abandoned: false, handleSec: 200, resolved: false, transfers: 1 }),
      contact('c3', at(0, 3), { waitSec: 3, abandoned: true }),
      contact('c4', at(0, 4), { waitSec: 40, abandoned: true }),
      // minute 1: one contact answered in 100 s, handled 400 s, resolved
      contact('c5', at(1, 5), { waitSec: 100, abandoned: false, handleSec: 400, resolved: true, transfers: 0 }),
    ];
    expect((await postJson(`${pipeline.url}/api/v1/events/contact`, contacts)).status).toBe(200);
    const surveys = [
      survey('s1', at(0, 10), 'nps', 10),
      survey('s2', at(0, 11), 'nps', 9),
      survey('s3', at(0, 12), 'nps', 7),
      survey('s4', at(0, 13), 'nps', 3),
      survey('s5', at(0, 14), 'csat', 5),
      survey('s6', at(0, 15), 'csat', 4),
      survey('s7', at(0, 16), 'csat', 2),
      survey('s8', at(0, 17), 'ces', 2),
      survey('s9', at(0, 18), 'ces', 4),
    ];
    expect((await postJson(`${pipeline.url}/api/v1/events/survey`, surveys)).status).toBe(200);
    const posts = [social('p1', at(0, 20), 0.5), social('p2', at(0, 21), -0.5), social('p3', at(0, 22), -0.01)];
    expect((await postJson(`${pipeline.url}/api/v1/events/social`, posts)).status).toBe(200);

    const k = await eventually('all families in the hour', async () => {
      const kpis = await hourKpis();
      // The last event of each post: c5 (the third answered), s8 and s9 (CES 3), p3 (the third post).
      return kpis.answered === 3 && kpis.ces === 3 && kpis.social_volume === 3 ? kpis : undefined;
    });
    // offered = 5 received − 1 short abandon = 4; answered 3; abandoned (not short) 1
    expect([k.offered, k.answered, k.abandoned, k.short_abandons]).toEqual([4, 3, 1, 1]);
    expect(k.asa_sec).toBe((10 + 30 + 100) / 3);
    // within 20 s: c1 only; over answered 3 + abandoned after the short limit 1
    expect(k.service_level).toBe(1 / 4);
    expect(k.abandonment_rate).toBe(1 / 4);
    expect(k.aht_sec).toBe((300 + 200 + 400) / 3);
    expect(k.fcr).toBe(2 / 3);
    expect(k.transfer_rate).toBe(1 / 3);
    // NPS: promoters 2, detractors 1 of 4 → 50 − 25 = 25; CSAT 2 of 3 satisfied; CES (2 + 4) / 2
    expect(k.nps).toBe(25);
    expect(k.csat).toBeCloseTo((2 / 3) * 100, 12);
    expect(k.ces).toBe(3);
    expect(k.social_volume).toBe(3);
    expect(k.social_negative_share).toBe(1 / 3);
    expect(k.social_mean_sentiment).toBeCloseTo(-0.01 / 3, 12);
  });

  it('does not count a redelivered eventId twice, and a replayed backfill batch changes nothing', async () => {
    // A live event sent twice while its window is open: the second is a duplicate.
    const recent = new Date(Date.now() - 10_000).toISOString();
    const live = contact('live-1', recent, { waitSec: 5, abandoned: false, handleSec: 60, resolved: true, transfers: 0 });
    for (let i = 0; i < 2; i += 1) expect((await postJson(`${pipeline.url}/api/v1/events/contact`, [live])).status).toBe(200);
    // An old event sent again on the live topic, hours behind its watermark: the same content
    // as before, so a duplicate (its versions are kept: docs/corrections.md), not counted again.
    const again = await postJson(`${pipeline.url}/api/v1/events/contact`, [
      contact('c1', at(0, 1), { waitSec: 10, abandoned: false, handleSec: 300, resolved: true, transfers: 0 }),
    ]);
    expect(again.status).toBe(200);
    const history = [contact('b1', at(2, 0), { waitSec: 15, abandoned: false, handleSec: 100, resolved: true, transfers: 0 })];
    for (let replay = 0; replay < 2; replay += 1) {
      const res = await postJson(`${pipeline.url}/api/v1/events/contact?backfill=true`, history);
      expect(res.status).toBe(200);
    }
    const k = await eventually('the backfilled contact counted once', async () => {
      const kpis = await hourKpis();
      return kpis.answered === 4 ? kpis : undefined;
    });
    // b1 counted once although sent twice; c1 not counted again
    expect([k.offered, k.answered]).toEqual([5, 4]);
    expect(k.asa_sec).toBe((10 + 30 + 100 + 15) / 4);
    const metrics = await eventually('the outcomes counted', async () => {
      const text = await (await fetch(`${pipeline.url}/metrics`, { headers: readHeaders() })).text();
      return /outcome="duplicate"\} 3/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/cxv_aggregator_messages_total\{source="contact",outcome="duplicate"\} 3/);
    expect(metricValue(metrics, 'cxv_aggregator_messages_total', { source: 'contact', outcome: 'too_late' })).toBe(0);
    // Counted once each (as a new or as a late update, depending on where the watermark stood): 7 contacts.
    expect(
      metricValue(metrics, 'cxv_aggregator_messages_total', { source: 'contact', outcome: 'counted' }) +
        metricValue(metrics, 'cxv_aggregator_messages_total', { source: 'contact', outcome: 'late_update' }),
    ).toBe(7);
  });

  it('explains the CSI: points lost add up to 100 − CSI, and coverage shows what had data', async () => {
    const { status, body } = await getJson<{
      buckets: Array<{
        csi: number;
        coverage: number;
        explanation: string;
        contributions: Array<{ kqi: string; pointsLost: number }>;
      }>;
    }>(`${pipeline.url}/api/v1/csi?${range}&step=1h`);
    expect(status).toBe(200);
    const b = body.buckets[0];
    expect(b).toBeDefined();
    const lost = (b?.contributions ?? []).reduce((s, c) => s + c.pointsLost, 0);
    expect(lost).toBeCloseTo(100 - (b?.csi ?? 0), 9);
    // No probe data in this hour: network quality and service availability have none.
    expect(b?.coverage).toBeLessThan(1);
    expect(b?.explanation).toContain('CSI');
    const kqis = await getJson<{ buckets: Array<{ kqis: Array<{ kqi: string; score: number | null }> }> }>(
      `${pipeline.url}/api/v1/kqis?${range}&step=1h`,
    );
    const byName = Object.fromEntries((kqis.body.buckets[0]?.kqis ?? []).map((q) => [q.kqi, q.score]));
    expect(byName.network_quality).toBeNull();
    expect(byName.care_responsiveness).not.toBeNull();
  });

  it('stores the per-minute CSI with its explanation for the windows that landed', async () => {
    const rows = await eventually('csi_1m rows', async () => {
      await pipeline.csi?.tick();
      const r = await pipeline.store.query<{ csi: number | null; explanation: string; summary: string }>(
        `SELECT csi, explanation, summary FROM ${pipeline.store.table('csi_1m')} FINAL
         WHERE service = 'broadband' AND region = 'east' ORDER BY window_start`,
      );
      return r.length >= 3 ? r : undefined;
    });
    const first = rows[0];
    const explanation = JSON.parse(first?.explanation ?? '{}') as { contributions: Array<{ pointsLost: number }> };
    const lost = explanation.contributions.reduce((s, c) => s + c.pointsLost, 0);
    expect(lost).toBeCloseTo(100 - Number(first?.csi), 9);
    expect(first?.summary).toContain('CSI');
  });

  it('recomputes a past range under a new model version beside the old rows', async () => {
    const current = pipeline.model();
    const next = { ...current, version: current.version + 1, hash: `${current.hash}-next` };
    const materializer = new CsiMaterializer({
      store: pipeline.store,
      log: silentLogger,
      model: () => next,
      excuseRetroactive: false,
    });
    const rows = await materializer.recompute(H0, H0 + 3_600_000);
    expect(rows).toBeGreaterThanOrEqual(3);
    const versions = await pipeline.store.query<{ model_version: number; n: string }>(
      `SELECT model_version, count() AS n FROM ${pipeline.store.table('csi_1m')} FINAL
       WHERE service = 'broadband' AND region = 'east' AND window_start < fromUnixTimestamp64Milli({to:Int64})
       GROUP BY model_version ORDER BY model_version`,
      { to: H0 + 3_600_000 },
    );
    expect(versions.map((v) => Number(v.model_version))).toEqual([current.version, next.version]);
    expect(Number(versions[1]?.n)).toBe(rows);
  });
  it('reads every segment at once, each as a read of that segment alone, and weighs the CSI by segment value', async () => {
    const north = { region: 'north' };
    const events = {
      contact: [
        { ...contact('vs-c1', at(5, 1), { waitSec: 10, abandoned: false, handleSec: 100, resolved: true }), ...north },
        { ...contact('vs-c2', at(5, 2), { waitSec: 90, abandoned: true }), ...north },
        {
          ...contact('vs-c3', at(5, 3), { waitSec: 5, abandoned: false, handleSec: 60, resolved: true }),
          ...north,
          segment: 'vip',
        },
        { ...contact('vs-c4', at(6, 3), { waitSec: 200, abandoned: true }), ...north, segment: 'wholesale' },
      ],
      survey: [
        { ...survey('vs-s1', at(5, 10), 'nps', 10), ...north, segment: 'vip' },
        { ...survey('vs-s2', at(5, 11), 'nps', 2), ...north, segment: 'consumer' },
        { ...survey('vs-s3', at(6, 11), 'csat', 4), ...north, segment: 'vip' },
      ],
      social: [
        { ...social('vs-m1', at(5, 20), -0.5), ...north, segment: 'consumer' },
        { ...social('vs-m2', at(5, 21), 0.5), ...north, segment: 'vip' },
      ],
    };
    // Three hours old, past the live lateness once the earlier tests moved the watermark: history.
    for (const [source, list] of Object.entries(events)) {
      expect((await postJson(`${pipeline.url}/api/v1/events/${source}?backfill=true`, list)).status).toBe(200);
    }
    const f = { services: ['broadband'], region: 'north', from: H0, to: H0 + 3_600_000, stepSec: 60 };
    const segments = ['consumer', 'business', 'vip'];
    const together = await eventually('the segments of broadband / north to land', async () => {
      const m = await readKpiBucketsBySegment(pipeline.store, f, segments);
      const mentions = [...m.values()].flat().reduce((n, b) => n + (b.accumulators.social?.mentions ?? 0), 0);
      const contacts = [...m.values()].flat().reduce((n, b) => n + (b.accumulators.contact?.received ?? 0), 0);
      const answers = [...m.values()]
        .flat()
        .reduce(
          (n, b) => n + (b.accumulators.survey ? b.accumulators.survey.npsResponses + b.accumulators.survey.csatResponses : 0),
          0,
        );
      // Three posts, which land apart: every one of them before anything is compared.
      return mentions === 2 && contacts === 3 && answers === 3 ? m : undefined;
    });
    // 'wholesale' is not a model segment, and 'business' has no data: neither is read.
    expect([...together.keys()].sort()).toEqual(['consumer', 'vip']);
    for (const segment of segments) {
      expect(together.get(segment) ?? [], segment).toEqual(await readKpiBuckets(pipeline.store, { ...f, segment }));
    }
    // Through the API: the value-weighted CSI is (1 · CSI_consumer + 5 · CSI_vip) / 6 at minute 5.
    const minute5 = `service=broadband&region=north&from=${at(5)}&to=${at(6)}&step=1m`;
    const csiOf = async (extra: string) =>
      (
        await getJson<{ buckets: Array<{ csi: number | null; valueWeighted: { csi: number | null } | null }> }>(
          `${pipeline.url}/api/v1/csi?${minute5}${extra}`,
        )
      ).body.buckets[0];
    const consumer = (await csiOf('&segment=consumer'))?.csi;
    const vip = (await csiOf('&segment=vip'))?.csi;
    expect(typeof consumer).toBe('number');
    expect(typeof vip).toBe('number');
    expect((await csiOf(''))?.valueWeighted?.csi).toBeCloseTo((1 * (consumer ?? 0) + 5 * (vip ?? 0)) / 6, 9);
  });
  it('keeps who supplied the data: employee and customer NPS, partner and network Availability read apart', async () => {
    const west = { service: 'broadband', region: 'west' };
    const surveys = [
      { ...survey('or-s1', at(20, 1), 'nps', 10), ...west, origin: 'employee' },
      { ...survey('or-s2', at(20, 2), 'nps', 10), ...west, origin: 'employee' },
      // No origin: a survey comes from a customer.
      { ...survey('or-s3', at(20, 3), 'nps', 0), ...west },
    ];
    const probes = [
      {
        eventId: 'or-p1',
        ts: at(20, 4),
        ...west,
        probeId: 'p-partner',
        probeType: 'active',
        attempts: 10,
        successes: 4,
        origin: 'partner',
      },
      // No origin: a probe result comes from the network.
      { eventId: 'or-p2', ts: at(20, 5), ...west, probeId: 'p-own', probeType: 'active', attempts: 10, successes: 10 },
    ];
    expect((await postJson(`${pipeline.url}/api/v1/events/survey?backfill=true`, surveys)).status).toBe(200);
    expect((await postJson(`${pipeline.url}/api/v1/events/probe?backfill=true`, probes)).status).toBe(200);
    const west20 = `service=broadband&region=west&from=${at(20)}&to=${at(21)}&step=1m`;
    const minute = async (origin: string) =>
      (
        await getJson<{ buckets: Array<{ kpis: Record<string, number | null> }> }>(
          `${pipeline.url}/api/v1/kpis?${west20}${origin}`,
        )
      ).body.buckets[0];
    const nps = async (origin: string) => (await minute(origin))?.kpis.nps;
    // Together: 2 promoters, 1 detractor of 3.
    await eventually('the surveys of broadband / west to land', async () => ((await nps('')) === 100 / 3 ? true : undefined));
    const availability = async (origin: string) =>
      (
        await getJson<{ total: { attempts: number; availability: number | null } }>(
          `${pipeline.url}/api/v1/availability?${west20}${origin}`,
        )
      ).body.total;
    // The surveys and the probes are two posts that land apart: wait for both before reading by origin.
    await eventually('the probe results of broadband / west to land', async () =>
      (await availability('')).attempts === 20 && (await minute('&origin=partner')) !== undefined ? true : undefined,
    );
    // The partner sent probe results only: its minute has no NPS.
    expect([await nps('&origin=employee'), await nps('&origin=customer'), await nps('&origin=partner')]).toEqual([
      100,
      -100,
      null,
    ]);
    const counts = async (origin: string) => {
      const t = await availability(origin);
      return [t.attempts, t.availability];
    };
    expect([await counts('&origin=partner'), await counts('&origin=network')]).toEqual([
      [10, 4 / 10],
      [10, 1],
    ]);
  });
});
