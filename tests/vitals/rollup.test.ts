import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DailyRollupJob } from '../../services/aggregator/daily-rollup.ts';
import { addSurvey, emptySurvey } from '../../services/families/survey/accumulator.ts';
import { flatten } from '../../services/shared/kpi/flatten.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type QueryOptions, type QueryParams, type Store } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';
import { readKpiBuckets, readKpiRange } from '../../services/shared/vitals/buckets.ts';
import { rollUpDays, unrolledRanges, wholeDays } from '../../services/shared/vitals/rollup.ts';
import { probeMinuteRow } from '../support/probe-minutes.ts';

/**
 * Daily rollups (services/shared/vitals/rollup.ts): a read at step=1d takes the whole days
 * it covers from kpi_1d / probe_kpi_1d once they are rolled up, with exactly the values
 * the one-minute rows give, and goes back to the one-minute rows for a day written since.
 *
 * broadband/north, NPS surveys (promoter ≥ 9, detractor ≤ 6) and probe minutes:
 *   day 0 (2026-03-02) 00:10  scores 10, 9, 3        probe 00:05  100 attempts, 90 successes
 *   day 1              12:00  scores 10, 2           probe 12:00   50 attempts, 50 successes
 *   day 2              23:59  score 8                probe 23:59   10 attempts,  5 successes
 * NPS per day: (2−1)/3 = 33.33…, (1−1)/2 = 0, (0−0)/1 = 0; all three days: 6 responses,
 * 3 promoters, 2 detractors. Successes per attempt: 0.9, 1, 0.5; all three days: 145 of 160.
 */

const D = Date.UTC(2026, 2, 2);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const north = { service: 'broadband', region: 'north' };

/** Records every query, so a test can see which table a read took. */
class RecordingStore extends StoreWrapper {
  readonly sql: string[] = [];
  readonly params: QueryParams[] = [];
  override query<T>(sql: string, params: QueryParams = {}, options?: QueryOptions): Promise<T[]> {
    this.sql.push(sql);
    this.params.push({ ...params });
    return this.inner.query<T>(sql, params, options);
  }
  forget(): void {
    this.sql.length = 0;
    this.params.length = 0;
  }
}

let dataDir: string;
let base: Store;
let store: RecordingStore;

const surveyRow = (t: number, scores: number[], version = 1) => {
  const acc = emptySurvey();
  for (const score of scores) addSurvey(acc, { kind: 'nps', score });
  return {
    family: 'survey',
    ...north,
    segment: 'consumer',
    origin: 'customer',
    channel: '',
    queue: '',
    window_start: t,
    sums: flatten(acc),
    version,
    bus_epoch: 'test',
    source_partition: '0',
    last_offset: 0,
  };
};

const filter = (from: number, to: number, stepSec = 86_400) => ({
  services: ['broadband'],
  region: 'north',
  segment: undefined,
  from,
  to,
  stepSec,
});

/** Per bucket: NPS and Serviceability (attempts − failures, as the read model counts them). */
async function read(from: number, to: number, stepSec = 86_400) {
  const buckets = await readKpiBuckets(store, filter(from, to, stepSec));
  return buckets.map((b) => {
    const s = b.accumulators.survey;
    const a = b.accumulators.probe?.availability;
    return {
      start: b.start,
      nps: s && s.npsResponses > 0 ? (100 * (s.npsPromoters - s.npsDetractors)) / s.npsResponses : null,
      attempts: a?.attempts ?? 0,
      successes: a?.successes ?? 0,
    };
  });
}

const byHand = [
  { start: D, nps: (100 * (2 - 1)) / 3, attempts: 100, successes: 90 },
  { start: D + DAY, nps: 0, attempts: 50, successes: 50 },
  { start: D + 2 * DAY, nps: 0, attempts: 10, successes: 5 },
];

/** Whether the last read's main queries took the rollup tables. */
const tookRollups = () => ({
  kpi: store.sql.some((q) => q.includes('sumMap(sums) AS sums') && q.includes('kpi_1d')),
  probe: store.sql.some((q) => q.includes('sum(retro_successes) AS retro_successes') && q.includes('probe_kpi_1d')),
});

/** The days (as epoch days) the last read's main queries took from the rollups. */
const rolledDays = () =>
  store.sql.flatMap((q, i) =>
    q.includes('sumMap(sums) AS sums') || q.includes('AS retro_successes') ? [store.params[i]?.rolledDays] : [],
  );

const dayNumber = (t: number) => t / DAY;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-rollup-'));
  base = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
  await migrate(base, silentLogger);
  store = new RecordingStore(base);
  await base.insert('kpi_1m', [
    surveyRow(D + 10 * MIN, [10, 9, 3]),
    surveyRow(D + DAY + 12 * HOUR, [10, 2]),
    surveyRow(D + 3 * DAY - MIN, [8]),
  ]);
  await base.insert('probe_kpi_1m', [
    probeMinuteRow({ ...north, t: D + 5 * MIN, attempts: 100, successes: 90 }),
    probeMinuteRow({ ...north, t: D + DAY + 12 * HOUR, attempts: 50, successes: 50 }),
    probeMinuteRow({ ...north, t: D + 3 * DAY - MIN, attempts: 10, successes: 5 }),
  ]);
}, 60_000);

afterAll(async () => {
  await base?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('daily rollups', () => {
  it('before any rollup, reads come from the one-minute rows', async () => {
    store.forget();
    expect(await read(D, D + 3 * DAY)).toEqual(byHand);
    expect(tookRollups()).toEqual({ kpi: false, probe: false });
  });

  it('rolls up settled days only, and the same reads then take them from the rollups with the same values', async () => {
    // Day 2 ends at D + 3 days: with one hour to settle, at D + 3 days + 30 min it is not rolled yet.
    expect(await rollUpDays(base, { now: D + 3 * DAY + 30 * MIN, settleMs: HOUR })).toEqual({ kpi_1m: 2, probe_kpi_1m: 2 });
    expect(await rollUpDays(base, { now: D + 3 * DAY + 2 * HOUR, settleMs: HOUR })).toEqual({ kpi_1m: 1, probe_kpi_1m: 1 });
    // Nothing changed since: nothing to roll.
    expect(await rollUpDays(base, { now: D + 10 * DAY, settleMs: HOUR })).toEqual({ kpi_1m: 0, probe_kpi_1m: 0 });
    const [kpiRows] = await base.query<{ n: string }>(`SELECT count() AS n FROM ${base.table('kpi_1d')} FINAL`);
    expect(Number(kpiRows?.n)).toBe(3);

    store.forget();
    expect(await read(D, D + 3 * DAY)).toEqual(byHand);
    expect(tookRollups()).toEqual({ kpi: true, probe: true });
    expect(rolledDays()).toEqual([
      [dayNumber(D), dayNumber(D + DAY), dayNumber(D + 2 * DAY)],
      [dayNumber(D), dayNumber(D + DAY), dayNumber(D + 2 * DAY)],
    ]);
    // One bucket over the three days (a goal's window): 6 responses, 3 promoters, 2 detractors; 145 of 160.
    const { stepSec: _step, ...range } = filter(D, D + 3 * DAY);
    const whole = await readKpiRange(store, range);
    expect(whole?.accumulators.survey).toMatchObject({ npsResponses: 6, npsPromoters: 3, npsDetractors: 2 });
    expect(whole?.accumulators.probe?.availability).toMatchObject({ attempts: 160, successes: 145 });
  });

  it('a day a bucket splits, or only partly in the range, is read from the one-minute rows', async () => {
    store.forget();
    // Hourly buckets: no day is whole in one bucket.
    const hourly = await read(D, D + 3 * DAY, 3600);
    expect(hourly.map((b) => b.start)).toEqual([D, D + DAY + 12 * HOUR, D + 3 * DAY - HOUR]);
    expect(tookRollups()).toEqual({ kpi: false, probe: false });
    // From noon of day 0: day 0 partly (its 00:10 and 00:05 minutes are outside), days 1 and 2 whole.
    store.forget();
    expect(await read(D + 12 * HOUR, D + 3 * DAY)).toEqual([
      { start: D + DAY, nps: 0, attempts: 50, successes: 50 },
      { start: D + 2 * DAY, nps: 0, attempts: 10, successes: 5 },
    ]);
    expect(tookRollups()).toEqual({ kpi: true, probe: true });
  });

  it('a day written after its rollup is read from the one-minute rows until it is rolled again', async () => {
    // Day 1's survey minute rewritten (a correction): scores 10, 10 → NPS 100; its probe minute: 50 attempts, 40 successes.
    await base.insert('kpi_1m', [surveyRow(D + DAY + 12 * HOUR, [10, 10], 2)]);
    await base.insert('probe_kpi_1m', [
      { ...probeMinuteRow({ ...north, t: D + DAY + 12 * HOUR, attempts: 50, successes: 40 }), version: 2 },
    ]);
    const corrected = [byHand[0], { start: D + DAY, nps: 100, attempts: 50, successes: 40 }, byHand[2]];
    store.forget();
    expect(await read(D, D + 3 * DAY)).toEqual(corrected);
    // Days 0 and 2 still from the rollups; day 1 from the one-minute rows.
    expect(rolledDays()).toEqual([
      [dayNumber(D), dayNumber(D + 2 * DAY)],
      [dayNumber(D), dayNumber(D + 2 * DAY)],
    ]);
    expect(await rollUpDays(base, { now: D + 10 * DAY, settleMs: HOUR })).toEqual({ kpi_1m: 1, probe_kpi_1m: 1 });
    expect(await read(D, D + 3 * DAY)).toEqual(corrected);
  });

  it('the aggregator’s job rolls what is stale on each tick', async () => {
    await base.insert('kpi_1m', [surveyRow(D + 2 * DAY + HOUR, [9], 1)]);
    const job = new DailyRollupJob({
      store: base,
      log: silentLogger,
      intervalMs: 60_000,
      settleMs: HOUR,
      now: () => D + 10 * DAY,
    });
    await job.tick();
    expect(await rollUpDays(base, { now: D + 10 * DAY, settleMs: HOUR })).toEqual({ kpi_1m: 0, probe_kpi_1m: 0 });
    store.forget();
    const [, , day2] = await read(D, D + 3 * DAY);
    // Day 2: scores 8 and 9 → 2 responses, 1 promoter, no detractor.
    expect(day2?.nps).toBe(50);
    expect(rolledDays()[0]).toContain(dayNumber(D + 2 * DAY));
  });

  it('a calendar month is one bucket of rolled days', async () => {
    // After the correction and the job: 3 + 2 + 2 responses, 2 + 2 + 1 promoters, 1 + 0 + 0 detractors; 135 of 160.
    const buckets = await readKpiBuckets(store, { ...filter(Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)), calendar: 'month' });
    expect(buckets.map((b) => b.start)).toEqual([Date.UTC(2026, 2, 1)]);
    expect(buckets[0]?.accumulators.survey).toMatchObject({ npsResponses: 7, npsPromoters: 5, npsDetractors: 1 });
    expect(buckets[0]?.accumulators.probe?.availability).toMatchObject({ attempts: 160, successes: 135 });
  });
});

describe('many holes between rolled days', () => {
  it('past 32 holes the one-minute side is chosen by day, with the same values', async () => {
    const west = { service: 'tv', region: 'west' };
    const start = Date.UTC(2026, 5, 1);
    // 70 days, one probe minute each at noon: day k has 10 attempts and k % 10 successes.
    await base.insert(
      'probe_kpi_1m',
      Array.from({ length: 70 }, (_, k) =>
        probeMinuteRow({ ...west, t: start + k * DAY + 12 * HOUR, attempts: 10, successes: k % 10 }),
      ),
    );
    await rollUpDays(base, { now: start + 80 * DAY, settleMs: HOUR });
    // Every other day rewritten after its rollup (10 successes now): 35 days stale, 35 holes.
    await base.insert(
      'probe_kpi_1m',
      Array.from({ length: 35 }, (_, j) => ({
        ...probeMinuteRow({ ...west, t: start + 2 * j * DAY + 12 * HOUR, attempts: 10, successes: 10 }),
        version: 2,
      })),
    );
    store.forget();
    const buckets = await readKpiBuckets(store, {
      services: ['tv'],
      region: 'west',
      segment: undefined,
      from: start,
      to: start + 70 * DAY,
      stepSec: 86_400,
    });
    expect(buckets.map((b) => b.accumulators.probe?.availability.successes)).toEqual(
      Array.from({ length: 70 }, (_, k) => (k % 2 === 0 ? 10 : k % 10)),
    );
    // The probe counts' read (no kpi_1m rows for this key: that read takes none).
    const rolled = rolledDays().find(Array.isArray) as number[];
    expect(rolled).toHaveLength(35);
    expect(rolled.every((d) => (d - start / DAY) % 2 === 1)).toBe(true);
    expect(store.sql.some((q) => q.includes('NOT IN {rolledDays'))).toBe(true);
  });
});

describe('which days a read can take from the rollups', () => {
  const days = { stepMs: DAY, originMs: 0 };
  it('whole UTC days of the range that no bucket splits', () => {
    expect(wholeDays({ from: D, to: D + 3 * DAY }, days)).toEqual([D / DAY, D / DAY + 1, D / DAY + 2]);
    expect(wholeDays({ from: D + 1, to: D + 3 * DAY - 1 }, days)).toEqual([D / DAY + 1]);
    // Buckets of 12 hours split every day; a two-day step from the epoch does not.
    expect(wholeDays({ from: D, to: D + 3 * DAY }, { stepMs: DAY / 2, originMs: 0 })).toEqual([]);
    expect(wholeDays({ from: D, to: D + 2 * DAY }, { stepMs: 2 * DAY, originMs: 0 })).toHaveLength(2);
    // A goal's window from 06:00 as one bucket: the days inside it are whole.
    expect(wholeDays({ from: D + 6 * HOUR, to: D + 3 * DAY }, { stepMs: 3 * DAY - 6 * HOUR, originMs: D + 6 * HOUR })).toEqual([
      D / DAY + 1,
      D / DAY + 2,
    ]);
  });

  it('the one-minute side is the range without the rolled days', () => {
    const d0 = D / DAY;
    expect(unrolledRanges({ from: D - HOUR, to: D + 3 * DAY + HOUR }, [d0, d0 + 2])).toEqual([
      [D - HOUR, D],
      [D + DAY, D + 2 * DAY],
      [D + 3 * DAY, D + 3 * DAY + HOUR],
    ]);
    expect(unrolledRanges({ from: D, to: D + 2 * DAY }, [d0, d0 + 1])).toEqual([]);
  });
});
