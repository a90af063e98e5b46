import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsiMaterializer } from '../../services/aggregator/csi-materializer.ts';
import type { Pipeline } from '../../services/app.ts';
import { scoreCsi } from '../../services/model/score.ts';
import { silentLogger } from '../../services/shared/log.ts';
import type { QueryParams } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';
import { kpiValues, readKpiBuckets } from '../../services/shared/vitals/buckets.ts';
import { contact, social } from '../support/events.ts';
import { eventually, postJson, startTestPipeline } from '../support/pipeline.ts';

/**
 * The CSI materializer reads the KPIs of every key a tick touched in a few queries (keys
 * touched over the same minutes together), and scores each key exactly as a read of that
 * key alone would. One query per key made a tick of 1,000 keys longer than its interval
 * (the benchmark's growth figure).
 */

const MIN = 60_000;
const H0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
const at = (m: number, s = 0) => new Date(H0 + m * MIN + s * 1000).toISOString();

let pipeline: Pipeline;
beforeAll(async () => {
  // History three hours back is still open to its first events: a day of allowed lateness.
  pipeline = await startTestPipeline({ CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000) });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

describe('the CSI materializer over many keys', () => {
  it('scores many keys in a few queries, each key exactly as it reads alone', async () => {
    // One key alone (broadband/east, minutes 0–2) and six keys with contacts and posts in
    // the same two minutes (40–41): two groups for the materializer.
    const base = H0 + 40 * MIN;
    const recent = (m: number, sec: number) => new Date(base + m * MIN + sec * 1000).toISOString();
    const lone = [0, 1, 2].map((m) =>
      contact(`lone-${m}`, at(m, 3), { waitSec: 10 * (m + 1), abandoned: false, handleSec: 200, resolved: true, transfers: 0 }),
    );
    expect((await postJson(`${pipeline.url}/api/v1/events/contact`, lone)).body.rejected).toBe(0);
    const keys = ['north', 'south', 'west'].flatMap((region) => ['iptv', 'voice'].map((service) => ({ service, region })));
    for (const [i, k] of keys.entries()) {
      const waits = [5 + i, 25 + 3 * i];
      const batch = waits.map((waitSec, j) => ({
        ...contact(`mk-${i}-${j}`, recent(j, 5 + i), { waitSec, abandoned: j === 1 && i % 2 === 0 }),
        ...k,
        ...(j === 1 && i % 2 === 0 ? {} : { handleSec: 100 + 10 * i, resolved: i % 3 === 0, transfers: 0 }),
      }));
      const posted = await postJson(`${pipeline.url}/api/v1/events/contact`, batch);
      expect(posted.body.rejected, JSON.stringify(posted.body)).toBe(0);
      const posts = [social(`mp-${i}-0`, recent(0, 30), 0.2 * (i - 2)), social(`mp-${i}-1`, recent(1, 30), -0.1 * i)].map(
        (p) => ({
          ...p,
          ...k,
        }),
      );
      const postedPosts = await postJson(`${pipeline.url}/api/v1/events/social`, posts);
      expect(postedPosts.body.rejected, JSON.stringify(postedPosts.body)).toBe(0);
    }
    await eventually('the six keys landed', async () => {
      const [r] = await pipeline.store.query<{ n: string }>(
        `SELECT uniqExact(service, region, window_start, family) AS n FROM ${pipeline.store.table('kpi_1m')} FINAL
         WHERE service IN ('iptv', 'voice') AND window_start >= fromUnixTimestamp64Milli({from:Int64})`,
        { from: base },
      );
      const [l] = await pipeline.store.query<{ n: string }>(
        `SELECT count() AS n FROM ${pipeline.store.table('kpi_1m')} FINAL WHERE service = 'broadband' AND region = 'east'`,
      );
      return Number(r?.n) === keys.length * 2 * 2 && Number(l?.n) === 3 ? true : undefined;
    });

    class CountingStore extends StoreWrapper {
      queries = 0;
      override query<T>(sql: string, params?: QueryParams): Promise<T[]> {
        this.queries += 1;
        return this.inner.query<T>(sql, params);
      }
    }
    const counting = new CountingStore(pipeline.store);
    const model = { ...pipeline.model(), version: 900, hash: 'batched' };
    const materializer = new CsiMaterializer({
      store: counting,
      log: silentLogger,
      model: () => model,
      excuseRetroactive: false,
    });
    const written = await materializer.tick();
    // Every key written in the last hour, read 3 queries per group of keys touched over the
    // same minutes, plus the query that finds them: 7 queries for 7 keys, not 1 + 3 × 7.
    const [groups] = await pipeline.store.query<{ n: string }>(
      `SELECT uniqExact(first, last) AS n FROM (
         SELECT service, region, min(window_start) AS first, max(window_start) AS last
         FROM (SELECT service, region, window_start FROM ${pipeline.store.table('kpi_1m')}
               UNION ALL SELECT service, region, window_start FROM ${pipeline.store.table('probe_kpi_1m')})
         GROUP BY service, region)`,
    );
    expect(Number(groups?.n)).toBe(2);
    expect(counting.queries).toBe(1 + 3 * 2);

    const stored = await pipeline.store.query<{
      service: string;
      region: string;
      ws: string;
      csi: number | null;
      kqi: Record<string, number>;
    }>(
      `SELECT service, region, toUnixTimestamp64Milli(window_start) AS ws, csi, kqi_scores AS kqi
       FROM ${pipeline.store.table('csi_1m')} FINAL WHERE model_version = 900 ORDER BY service, region, ws`,
    );
    expect(stored.length).toBe(written);
    for (const k of [...keys, { service: 'broadband', region: 'east' }]) {
      const alone = await readKpiBuckets(pipeline.store, {
        services: [k.service],
        region: k.region,
        segment: undefined,
        from: H0,
        to: H0 + 3_600_000,
        stepSec: 60,
      });
      const mine = stored.filter((r) => r.service === k.service && r.region === k.region);
      expect(mine.map((r) => Number(r.ws))).toEqual(alone.map((b) => b.start));
      for (const [i, b] of alone.entries()) {
        const score = scoreCsi(model, kpiValues(b, false));
        expect(mine[i]?.csi).toBe(score.csi);
        expect(mine[i]?.kqi).toEqual(Object.fromEntries(score.kqis.flatMap((q) => (q.score === null ? [] : [[q.kqi, q.score]]))));
      }
    }
  });
});
