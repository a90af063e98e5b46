import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAvailabilityRoute } from '../../services/api/availability-route.ts';
import { checkRange, step } from '../../services/api/time-params.ts';
import { registerVitalsRoutes } from '../../services/api/vitals-routes.ts';
import { addContact, type ContactMeasurement, emptyContact } from '../../services/families/contact/accumulator.ts';
import { loadModel } from '../../services/model/load.ts';
import type { CxModel } from '../../services/model/types.ts';
import { flatten } from '../../services/shared/kpi/flatten.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { readKpiBuckets, readKpiRange } from '../../services/shared/vitals/buckets.ts';
import { bucketEndOf, bucketOf, epochBuckets } from '../../services/shared/vitals/filter.ts';
import { probeMinuteRow } from '../support/probe-minutes.ts';

/**
 * Calendar steps: `step=month` and `step=quarter` give UTC calendar buckets, so a
 * planner's quarter is one bucket, whatever its number of days. Window rows are written
 * by hand (as the aggregator writes them), at the edges of months, so every value below
 * is counted on this page.
 *
 * broadband/north, contacts (one per minute):
 *   2026-01-31 23:59  answered after 10 s
 *   2026-02-01 00:00  abandoned after 40 s
 *   2026-02-28 23:59  answered after 30 s
 *   2026-03-01 00:00  answered after 20 s
 *   2026-03-31 23:59  abandoned after 50 s
 *   2026-04-01 00:00  answered after 100 s
 * probes: 2026-02-28 23:59 100 attempts / 90 successes; 2026-03-01 00:00 10 / 5; 2026-04-01 00:00 10 / 10
 * 2024 (a leap year): 2024-02-29 23:59 a contact answered after 60 s.
 */

const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

let dataDir: string;
let store: Store;
let app: FastifyInstance;
let model: CxModel;

function contactRow(t: number, c: ContactMeasurement) {
  const acc = emptyContact();
  addContact(acc, c);
  return {
    family: 'contact',
    origin: 'customer',
    service: 'broadband',
    region: 'north',
    segment: 'consumer',
    channel: 'voice',
    queue: 'care',
    window_start: t,
    sums: flatten(acc),
    version: 1,
    bus_epoch: 'test',
    source_partition: '0',
    last_offset: 0,
  };
}

const answered = (waitSec: number): ContactMeasurement => ({
  waitSec,
  abandoned: false,
  handleSec: null,
  resolved: null,
  transfers: null,
});
const abandoned = (waitSec: number): ContactMeasurement => ({ ...answered(waitSec), abandoned: true });

const probeRow = (t: number, attempts: number, successes: number) =>
  probeMinuteRow({ service: 'broadband', region: 'north', origin: 'network', t, attempts, successes });

async function api<T>(url: string): Promise<T> {
  const res = await app.inject({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return JSON.parse(res.body) as T;
}

type KpiBuckets = { buckets: Array<{ start: string; end: string; kpis: Record<string, number | null> }> };

describe('calendar buckets (pure)', () => {
  it('a month is its calendar month in UTC: February has 28 days in 2026 and 29 in 2024', () => {
    const month = epochBuckets(31 * 86_400, 'month');
    const feb2026 = bucketOf(at('2026-02-28T23:59:59.999Z'), month);
    expect(feb2026).toBe(at('2026-02-01T00:00:00Z'));
    expect((bucketEndOf(feb2026, month) - feb2026) / DAY).toBe(28);
    const feb2024 = bucketOf(at('2024-02-29T23:59:00Z'), month);
    expect(feb2024).toBe(at('2024-02-01T00:00:00Z'));
    expect((bucketEndOf(feb2024, month) - feb2024) / DAY).toBe(29);
    expect(bucketEndOf(at('2026-12-01T00:00:00Z'), month)).toBe(at('2027-01-01T00:00:00Z'));
  });

  it('a quarter starts in January, April, July or October: 90, 91, 92 and 92 days in 2026', () => {
    const quarter = epochBuckets(92 * 86_400, 'quarter');
    const starts = ['2026-03-31T23:59:00Z', '2026-05-15T12:00:00Z', '2026-09-30T23:59:00Z', '2026-10-01T00:00:00Z'].map((s) =>
      bucketOf(at(s), quarter),
    );
    expect(starts.map((s) => new Date(s).toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
    ]);
    expect(starts.map((s) => (bucketEndOf(s, quarter) - s) / DAY)).toEqual([90, 91, 92, 92]);
  });

  it('step takes month and quarter beside 1m…31d, and names them when a step is too long', () => {
    expect(step.parse('quarter')).toEqual({ sec: 92 * 86_400, calendar: 'quarter' });
    expect(step.parse('month')).toEqual({ sec: 31 * 86_400, calendar: 'month' });
    expect(step.parse('1d')).toEqual({ sec: 86_400 });
    expect(step.safeParse('32d').error?.issues[0]?.message).toBe(
      'must be at most 31d; step=month or step=quarter gives calendar buckets',
    );
    expect(step.safeParse('year').error?.issues[0]?.message).toBe('must look like 1m, 5m, 1h or 1d, or be month or quarter');
  });

  it('counts the most buckets a range can hold with the shortest month: 10,000 Februaries is the limit', () => {
    const from = 0;
    expect(checkRange(from, from + 10_000 * 28 * DAY, { sec: 31 * 86_400, calendar: 'month' })).toBeUndefined();
    expect(checkRange(from, from + 10_000 * 28 * DAY + 1, { sec: 31 * 86_400, calendar: 'month' })?.field).toBe('step');
  });
});

describe('calendar steps on the read API', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-calendar-'));
    store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    await migrate(store, silentLogger);
    model = await loadModel(undefined, { extraKpis: declaredKpis() });
    await store.insert('kpi_1m', [
      contactRow(at('2026-01-31T23:59:00Z'), answered(10)),
      contactRow(at('2026-02-01T00:00:00Z'), abandoned(40)),
      contactRow(at('2026-02-28T23:59:00Z'), answered(30)),
      contactRow(at('2026-03-01T00:00:00Z'), answered(20)),
      contactRow(at('2026-03-31T23:59:00Z'), abandoned(50)),
      contactRow(at('2026-04-01T00:00:00Z'), answered(100)),
      contactRow(at('2024-02-29T23:59:00Z'), answered(60)),
    ]);
    await store.insert('probe_kpi_1m', [
      probeRow(at('2026-02-28T23:59:00Z'), 100, 90),
      probeRow(at('2026-03-01T00:00:00Z'), 10, 5),
      probeRow(at('2026-04-01T00:00:00Z'), 10, 10),
    ]);
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    registerVitalsRoutes(app, { store, model: () => model, excuseRetroactiveMaintenance: false });
    registerAvailabilityRoute(app, { store, excuseRetroactiveMaintenance: false });
    await app.ready();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('step=month: each month holds exactly its own minutes, the last minute of February in February', async () => {
    const r = await api<KpiBuckets>(
      '/api/v1/kpis?service=broadband&from=2026-01-01T00:00:00Z&to=2026-05-01T00:00:00Z&step=month',
    );
    expect(r.buckets.map((b) => [b.start, b.end, b.kpis.offered, b.kpis.asa_sec, b.kpis.abandonment_rate])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 1, 10, 0],
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 2, 30, 1 / 2],
      ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 2, 20, 1 / 2],
      ['2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z', 1, 100, 0],
    ]);
  });

  it('step=month in a leap year: 2024-02-29 23:59 is February’s, which ends on 1 March', async () => {
    const r = await api<KpiBuckets>(
      '/api/v1/kpis?service=broadband&from=2024-01-01T00:00:00Z&to=2024-04-01T00:00:00Z&step=month',
    );
    expect(r.buckets.map((b) => [b.start, b.end, b.kpis.offered, b.kpis.asa_sec])).toEqual([
      ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', 1, 60],
    ]);
  });

  it('step=quarter: Q1 is one bucket, the sum of its minutes, equal to the whole range read as one value', async () => {
    const r = await api<KpiBuckets>(
      '/api/v1/kpis?service=broadband&from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z&step=quarter',
    );
    // Q1: answered after 10, 30 and 20 s, abandoned after 40 and 50 s.
    expect(r.buckets.map((b) => [b.start, b.end, b.kpis.offered, b.kpis.asa_sec, b.kpis.abandonment_rate])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 5, 20, 2 / 5],
      ['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z', 1, 100, 0],
    ]);
    const filter = { services: ['broadband'], region: undefined, segment: undefined };
    const q1 = { from: at('2026-01-01T00:00:00Z'), to: at('2026-04-01T00:00:00Z') };
    const [quarterBucket] = await readKpiBuckets(store, { ...filter, ...q1, stepSec: 92 * 86_400, calendar: 'quarter' });
    const whole = await readKpiRange(store, { ...filter, ...q1 });
    expect(quarterBucket?.start).toBe(q1.from);
    expect(quarterBucket?.accumulators.contact).toEqual(whole?.accumulators.contact);
  });

  it('step=quarter on /availability and /csi: one bucket per quarter, with its calendar end', async () => {
    const a = await api<{
      step: string;
      buckets: Array<{ start: string; end: string; attempts: number; successes: number; availability: number }>;
    }>('/api/v1/availability?service=broadband&region=north&from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z&step=quarter');
    expect(a.step).toBe('quarter');
    expect(a.buckets.map((b) => [b.start, b.end, b.attempts, b.successes, b.availability])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 110, 95, 95 / 110],
      ['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z', 10, 10, 1],
    ]);
    const feb = await api<{ buckets: Array<{ start: string; end: string; attempts: number }> }>(
      '/api/v1/availability?service=broadband&region=north&from=2026-02-01T00:00:00Z&to=2026-04-01T00:00:00Z&step=month',
    );
    expect(feb.buckets.map((b) => [b.start, b.end, b.attempts])).toEqual([
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 100],
      ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 10],
    ]);
    const csi = await api<{ buckets: Array<{ start: string; end: string }> }>(
      '/api/v1/csi?service=broadband&from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z&step=quarter',
    );
    expect(csi.buckets.map((b) => [b.start, b.end])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ]);
  });

  it('a step over 31 days is a 400 that names month and quarter', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/kpis?service=broadband&step=90d' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('step=month or step=quarter gives calendar buckets');
  });
});
