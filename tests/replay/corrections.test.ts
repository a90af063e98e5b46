import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import { StoredVersions } from '../../services/aggregator/ledger.ts';
import { demoIngestCredentials, IngestAuth } from '../../services/ingest/auth.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import { mapFile } from '../../services/replay/map-file.ts';
import { loadMapping } from '../../services/replay/mapping/schema.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics, type Metrics } from '../../services/shared/metrics.ts';
import { type EmbeddedStack, startEmbeddedStack } from '../support/embedded-stack.ts';
import { eventually } from '../support/pipeline.ts';

/**
 * The source of docs/adding-a-source.md (app-store reviews), corrected after it was
 * replayed: its CSV sent twice (the second time every row is a duplicate), then one row
 * re-rated, one row moved to another minute, and one review retracted with
 * `DELETE /api/v1/events/appreview/{eventId}`. The declared KPIs stored per minute must
 * be exactly those of the final rows, computed here from the CSV.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const at = (p: string) => path.join(repoRoot, p);
const SAMPLE = at('tests/replay/fixtures/appreviews-2026-03.csv');
const MAPPING = at('schemas/mappings/appreview-export.yaml');
const MIN = 60_000;

interface Review {
  eventId: string;
  ts: string;
  stars: number;
  [field: string]: unknown;
}

let stack: EmbeddedStack;
let app: FastifyInstance;
let aggregator: Aggregator;
let metrics: Metrics;
const token = demoIngestCredentials().token;

beforeAll(async () => {
  stack = await startEmbeddedStack('source-corrections');
  metrics = createMetrics();
  aggregator = new Aggregator({
    bus: stack.bus,
    store: stack.store,
    metrics,
    log: silentLogger,
    windows: { outOfOrdernessMs: 1000, allowedLatenessMs: 300_000, idlePartitionMs: 300, backfillOutOfOrdernessMs: 1000 },
    busEpoch: stack.busEpoch,
    flushIntervalMs: 100,
  });
  await aggregator.start();
  // The answers' corrected/duplicate counts are asserted: the lookup may take as long as a loaded machine needs.
  const ingest = new IngestService(stack.bus, metrics, {
    maxFutureMs: 300_000,
    versions: new StoredVersions(stack.store),
    versionLookupMs: 60_000,
  });
  app = await buildHttpApp({
    bus: stack.bus,
    store: stack.store,
    metrics,
    ingest,
    log: silentLogger,
    excuseRetroactiveMaintenance: false,
    ingestEdge: { auth: IngestAuth.demo() },
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await aggregator?.stop();
  await stack?.stop();
});

async function mappedReviews(): Promise<Review[]> {
  const out: Review[] = [];
  for await (const r of mapFile(SAMPLE, loadMapping(MAPPING))) if ('event' in r) out.push(r.event as Review);
  return out;
}

async function post(events: Review[]): Promise<{ accepted: number; rejected: number; corrected?: number; duplicate?: number }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/events/appreview?backfill=true',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    payload: events.map((e) => JSON.stringify(e)).join('\n'),
  });
  return res.json() as { accepted: number; rejected: number; corrected?: number; duplicate?: number };
}

interface MinuteKpis {
  reviews: number;
  starsSum: number;
  starsCount: number;
  lowStars: number;
  rated: number;
}

/** The declared KPIs' sums per minute, from the rows as finally corrected: computed here, by hand. */
function expectedFrom(rows: Review[]): Record<string, MinuteKpis> {
  const out: Record<string, MinuteKpis> = {};
  for (const r of rows) {
    if (r.stars > 5) continue; // refused by the declaration's check (6 stars)
    const minute = new Date(Math.floor(Date.parse(r.ts) / MIN) * MIN).toISOString().slice(11, 16);
    const m = out[minute] ?? { reviews: 0, starsSum: 0, starsCount: 0, lowStars: 0, rated: 0 };
    m.reviews += 1;
    m.starsSum += r.stars;
    m.starsCount += 1;
    m.rated += 1;
    if (r.stars <= 2) m.lowStars += 1;
    out[minute] = m;
  }
  return out;
}

async function storedKpis(): Promise<Record<string, MinuteKpis>> {
  const rows = await stack.store.query<Record<string, string>>(
    `SELECT toUnixTimestamp64Milli(window_start) AS ws,
            sum(sums['reviews.numerator']) AS reviews, sum(sums['mean_stars.numerator']) AS starsSum,
            sum(sums['mean_stars.denominator']) AS starsCount, sum(sums['low_star_share.numerator']) AS lowStars,
            sum(sums['low_star_share.denominator']) AS rated
     FROM ${stack.store.table('kpi_1m')} FINAL WHERE family = 'appreview' GROUP BY ws ORDER BY ws`,
  );
  const out: Record<string, MinuteKpis> = {};
  for (const r of rows) {
    const m = {
      reviews: Number(r.reviews),
      starsSum: Number(r.starsSum),
      starsCount: Number(r.starsCount),
      lowStars: Number(r.lowStars),
      rated: Number(r.rated),
    };
    // A minute emptied by a correction keeps its row, with nothing in it.
    if (m.reviews === 0 && m.starsCount === 0 && m.rated === 0) continue;
    out[new Date(Number(r.ws)).toISOString().slice(11, 16)] = m;
  }
  return out;
}

async function expectStored(want: Record<string, MinuteKpis>): Promise<void> {
  let last: Record<string, MinuteKpis> = {};
  try {
    await eventually(
      'the declared KPIs stored',
      async () => {
        last = await storedKpis();
        return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
      },
      45_000,
    );
  } catch {
    expect(last).toEqual(want);
  }
}

const outcome = async (name: string): Promise<number> =>
  (await metrics.aggregatorOutcome.get()).values
    .filter((v) => v.labels.source === 'appreview' && v.labels.outcome === name)
    .reduce((n, v) => n + v.value, 0);

describe('a declared source corrected after its replay', () => {
  it('replayed twice, then one row re-rated, one moved and one retracted: the KPIs are those of the final rows', async () => {
    const rows = await mappedReviews();
    expect(await post(rows)).toMatchObject({ accepted: 8, rejected: 1, corrected: 0, duplicate: 0 });
    await expectStored(expectedFrom(rows));
    // The second replay, once the first is stored: ingest's answer already knows every row is a duplicate.
    expect(await post(rows)).toMatchObject({ accepted: 8, rejected: 1, corrected: 0, duplicate: 8 });
    // By hand, from the CSV: 08:17 has as-2001 (1 star), 08:20 gp-1002 (2 stars), 08:35 gp-1005 (1 star).
    expect(expectedFrom(rows)['08:17']).toEqual({ reviews: 1, starsSum: 1, starsCount: 1, lowStars: 1, rated: 1 });

    const find = (id: string) => rows.find((r) => r.eventId === id) ?? expect.fail(`${id} not in the sample`);
    const reRated = { ...find('as-2001'), stars: 4 };
    const moved = { ...find('gp-1002'), ts: '2026-03-02T08:22:10Z' };
    expect(await post([reRated, moved])).toMatchObject({ accepted: 2, rejected: 0, corrected: 2, duplicate: 0 });
    const retraction = await app.inject({
      method: 'DELETE',
      url: '/api/v1/events/appreview/gp-1005',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(retraction.statusCode).toBe(202);
    expect(retraction.json()).toMatchObject({ code: 'RETRACTION_ACCEPTED', eventId: 'gp-1005', topic: 'cx.appreview.v1' });

    const final = rows
      .filter((r) => r.eventId !== 'gp-1005')
      .map((r) => (r.eventId === 'as-2001' ? reRated : r.eventId === 'gp-1002' ? moved : r));
    const want = expectedFrom(final);
    // By hand: 08:17 now 4 stars (not low), 08:20 empty, 08:22 has the 2-star review, 08:35 empty.
    expect(want['08:17']).toEqual({ reviews: 1, starsSum: 4, starsCount: 1, lowStars: 0, rated: 1 });
    expect(want['08:20']).toBeUndefined();
    expect(want['08:22']).toEqual({ reviews: 1, starsSum: 2, starsCount: 1, lowStars: 1, rated: 1 });
    expect(want['08:35']).toBeUndefined();
    await expectStored(want);
    // Over the hour: 7 reviews, 27 stars (mean 27/7), 1 low-star review (share 1/7).
    const total = Object.values(await storedKpis()).reduce(
      (t, m) => ({ reviews: t.reviews + m.reviews, stars: t.stars + m.starsSum, low: t.low + m.lowStars }),
      { reviews: 0, stars: 0, low: 0 },
    );
    expect(total).toEqual({ reviews: 7, stars: 27, low: 1 });
    expect([await outcome('corrected'), await outcome('retracted'), await outcome('duplicate')]).toEqual([2, 1, 8]);
  }, 120_000);
});
