import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerVitalsRoutes } from '../../services/api/vitals-routes.ts';
import { addContact, type ContactMeasurement, emptyContact } from '../../services/families/contact/accumulator.ts';
import { addSurvey, emptySurvey } from '../../services/families/survey/accumulator.ts';
import { createMetricFeedReader, type FeedRef, type MetricFeedReader } from '../../services/goals/feeds.ts';
import { loadModel } from '../../services/model/load.ts';
import type { CxModel } from '../../services/model/types.ts';
import { flatten } from '../../services/shared/kpi/flatten.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { readAvailability } from '../../services/shared/vitals/availability.ts';
import { probeMinuteRow } from '../support/probe-minutes.ts';

/**
 * Goals read every feed through the read model the API serves: a goal's value for a window
 * is exactly what /api/v1/kpis, /kqis, /csi and /availability give for that range. Window
 * rows are written by hand (as the aggregator writes them), so every value below is
 * counted on this page.
 *
 * 2026-03-02, minute by minute:
 *   00:05  probe broadband/north: 100 attempts, 90 successes; 20 of them (10 successes) in planned maintenance
 *   00:10  contact broadband/north consumer: answered after 10 s and 30 s, abandoned after 40 s and after 3 s (short)
 *   00:15  contact iptv/south consumer: abandoned after 60 s
 *   00:20  survey broadband/north consumer: NPS 10, 9, 7, 3
 *   01:05  probe broadband/north: 50 attempts, 45 successes
 *   01:10  contact broadband/north business: answered after 100 s, abandoned after 50 s
 *   00:06  probe broadband/south, reported by a partner: 10 attempts, 5 successes
 *   00:30  survey broadband/east from employees: NPS 10, 10
 * Origins as the sources default them: contacts and surveys from customers, probes from the network.
 */

const D = Date.UTC(2026, 2, 2);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

let dataDir: string;
let store: Store;
let app: FastifyInstance;
let model: CxModel;
let feeds: MetricFeedReader;

const answered = (waitSec: number): ContactMeasurement => ({
  waitSec,
  abandoned: false,
  handleSec: null,
  resolved: null,
  transfers: null,
});
const abandoned = (waitSec: number): ContactMeasurement => ({
  waitSec,
  abandoned: true,
  handleSec: null,
  resolved: null,
  transfers: null,
});

function windowRow(
  family: string,
  dims: { service: string; region: string; segment: string; origin?: string },
  t: number,
  sums: object,
) {
  return {
    family,
    origin: 'customer',
    ...dims,
    channel: 'voice',
    queue: 'care',
    window_start: t,
    sums: flatten(sums),
    version: 1,
    bus_epoch: 'test',
    source_partition: '0',
    last_offset: 0,
  };
}

function contacts(list: ContactMeasurement[]) {
  const acc = emptyContact();
  for (const c of list) addContact(acc, c);
  return acc;
}

const probeRow = (
  t: number,
  attempts: number,
  successes: number,
  planned: [number, number] = [0, 0],
  where = { region: 'north', origin: 'network' },
) => probeMinuteRow({ service: 'broadband', ...where, t, attempts, successes, planned });

async function api<T>(url: string): Promise<T> {
  const res = await app.inject({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return JSON.parse(res.body) as T;
}

const day = `from=${new Date(D).toISOString()}&to=${new Date(D + DAY).toISOString()}&step=1d`;
const feed = (kind: FeedRef['kind'], name: string | undefined, filters: FeedRef['filters'] = {}): FeedRef => ({
  kind,
  name,
  filters,
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-feeds-'));
  store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
  await migrate(store, silentLogger);
  model = await loadModel(undefined, { extraKpis: declaredKpis() });
  const north = { service: 'broadband', region: 'north' };
  const survey = emptySurvey();
  for (const score of [10, 9, 7, 3]) addSurvey(survey, { kind: 'nps', score });
  const employees = emptySurvey();
  for (const score of [10, 10]) addSurvey(employees, { kind: 'nps', score });
  await store.insert('kpi_1m', [
    windowRow(
      'contact',
      { ...north, segment: 'consumer' },
      D + 10 * MIN,
      contacts([answered(10), answered(30), abandoned(40), abandoned(3)]),
    ),
    windowRow('contact', { service: 'iptv', region: 'south', segment: 'consumer' }, D + 15 * MIN, contacts([abandoned(60)])),
    windowRow('survey', { ...north, segment: 'consumer' }, D + 20 * MIN, survey),
    windowRow('contact', { ...north, segment: 'business' }, D + 70 * MIN, contacts([answered(100), abandoned(50)])),
    windowRow('survey', { service: 'broadband', region: 'east', segment: '', origin: 'employee' }, D + 30 * MIN, employees),
  ]);
  await store.insert('probe_kpi_1m', [
    probeRow(D + 5 * MIN, 100, 90, [20, 10]),
    probeRow(D + 65 * MIN, 50, 45),
    probeRow(D + 6 * MIN, 10, 5, [0, 0], { region: 'south', origin: 'partner' }),
  ]);
  // The read routes alone (the server's auth and plugins are not what this checks).
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerVitalsRoutes(app, { store, model: () => model, excuseRetroactiveMaintenance: false });
  await app.ready();
  feeds = createMetricFeedReader({ store, excuseRetroactive: false, model: () => model });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await store?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type KpiBuckets = { buckets: Array<{ start: string; kpis: Record<string, number | null> }> };

describe('KPI feeds', () => {
  it('abandonment rate of a product over a day: 2 abandoned of 5 offered, its counts, hourly points, and the API’s value', async () => {
    const r = await feeds.read(feed('kpi', 'abandonment_rate', { product: 'home-internet' }), D, D + DAY, { stepMs: HOUR });
    // home-internet is broadband only: iptv's abandon is not counted; the short abandon is not offered.
    expect([r.ratio, r.value, r.numerator, r.denominator]).toEqual([true, 2 / 5, 2, 5]);
    expect(r.points).toEqual([
      { t: D, value: 1 / 3, numerator: 1, denominator: 3 },
      { t: D + HOUR, value: 1 / 2, numerator: 1, denominator: 2 },
    ]);
    const fromApi = await api<KpiBuckets>(`/api/v1/kpis?product=home-internet&${day}`);
    expect(fromApi.buckets.map((b) => b.kpis.abandonment_rate)).toEqual([r.value]);
    // Every service: iptv's abandon is in.
    const all = await feeds.read(feed('kpi', 'abandonment_rate'), D, D + DAY);
    expect([all.value, all.numerator, all.denominator]).toEqual([3 / 6, 3, 6]);
  });

  it('ASA and NPS are not event shares: no counts, and the value is the API’s', async () => {
    const asa = await feeds.read(feed('kpi', 'asa_sec', { service: 'broadband' }), D, D + DAY);
    expect([asa.ratio, asa.value, asa.numerator]).toEqual([false, (10 + 30 + 100) / 3, undefined]);
    const nps = await feeds.read(feed('kpi', 'nps', { service: 'broadband', region: 'north' }), D, D + DAY);
    // Promoters 2, detractors 1 of 4: 50 − 25.
    expect([nps.ratio, nps.value]).toEqual([false, 25]);
    const fromApi = await api<KpiBuckets>(`/api/v1/kpis?service=broadband&region=north&${day}`);
    expect([fromApi.buckets[0]?.kpis.asa_sec, fromApi.buckets[0]?.kpis.nps]).toEqual([asa.value, nps.value]);
  });

  it('a window not on the API’s bucket grid reads exactly its own minutes', async () => {
    // 00:30–01:30 holds only the 01:10 contacts: 1 abandoned of 2 offered.
    const r = await feeds.read(feed('kpi', 'abandonment_rate', { service: 'broadband' }), D + 30 * MIN, D + 90 * MIN);
    expect([r.value, r.numerator, r.denominator]).toEqual([1 / 2, 1, 2]);
  });

  it('a segment filter reads that segment only', async () => {
    const r = await feeds.read(feed('kpi', 'asa_sec', { service: 'broadband', segment: 'business' }), D, D + DAY);
    expect(r.value).toBe(100);
  });
});

describe('Availability and Serviceability feeds', () => {
  it('leave planned maintenance out of Availability only, with the counts the API reports', async () => {
    const filters = { service: 'broadband', region: 'north' };
    const availability = await feeds.read(feed('availability', undefined, filters), D, D + DAY);
    // (90 + 45 − 10) / (100 + 50 − 20)
    expect([availability.ratio, availability.value, availability.numerator, availability.denominator]).toEqual([
      true,
      125 / 130,
      125,
      130,
    ]);
    const serviceability = await feeds.read(feed('serviceability', undefined, filters), D, D + DAY);
    expect([serviceability.value, serviceability.numerator, serviceability.denominator]).toEqual([135 / 150, 135, 150]);
    // What GET /api/v1/availability answers.
    const report = await readAvailability(store, {
      service: 'broadband',
      region: 'north',
      from: D,
      to: D + DAY,
      stepSec: 86_400,
      excuseRetroactive: false,
    });
    expect([report.total.availability, report.total.serviceability]).toEqual([availability.value, serviceability.value]);
    // The same numbers as KPIs.
    const kpi = await feeds.read(feed('kpi', 'availability', filters), D, D + DAY);
    expect([kpi.value, kpi.numerator, kpi.denominator]).toEqual([125 / 130, 125, 130]);
  });
});

describe('KQI and CSI feeds', () => {
  it('a KQI’s value over a day is the API’s score for that day', async () => {
    const r = await feeds.read(feed('kqi', 'care_responsiveness', { service: 'broadband' }), D, D + DAY);
    const fromApi = await api<{ buckets: Array<{ kqis: Array<{ kqi: string; score: number | null }> }> }>(
      `/api/v1/kqis?service=broadband&${day}`,
    );
    const score = fromApi.buckets[0]?.kqis.find((k) => k.kqi === 'care_responsiveness')?.score;
    expect(r.ratio).toBe(false);
    expect(typeof r.value).toBe('number');
    expect(r.value).toBe(score);
  });

  it('the CSI and the value-weighted CSI over a day are the API’s', async () => {
    const plain = await feeds.read(feed('csi', undefined, { service: 'broadband' }), D, D + DAY);
    const weighted = await feeds.read(feed('csi', 'value_weighted', { service: 'broadband' }), D, D + DAY);
    const fromApi = await api<{ buckets: Array<{ csi: number | null; valueWeighted: { csi: number | null } | null }> }>(
      `/api/v1/csi?service=broadband&${day}`,
    );
    expect([plain.value, weighted.value]).toEqual([fromApi.buckets[0]?.csi, fromApi.buckets[0]?.valueWeighted?.csi]);
    expect(typeof plain.value).toBe('number');
    // Consumer (value weight 1) and business (3) have data; vip (5) has none.
    const ofSegment = async (segment: string) =>
      (await api<{ buckets: Array<{ csi: number }> }>(`/api/v1/csi?service=broadband&segment=${segment}&${day}`)).buckets[0]
        ?.csi ?? NaN;
    expect(weighted.value).toBe((1 * (await ofSegment('consumer')) + 3 * (await ofSegment('business'))) / 4);
    expect([plain.ratio, weighted.ratio]).toEqual([false, false]);
  });
});

describe('origin', () => {
  it('employee survey NPS and customer NPS are read apart, as the API reads them', async () => {
    const employees = await feeds.read(feed('kpi', 'nps', { service: 'broadband', origin: 'employee' }), D, D + DAY);
    const customers = await feeds.read(feed('kpi', 'nps', { service: 'broadband', origin: 'customer' }), D, D + DAY);
    const everyone = await feeds.read(feed('kpi', 'nps', { service: 'broadband' }), D, D + DAY);
    // Employees: 2 promoters of 2. Customers: 2 promoters, 1 detractor of 4. Together: 4 − 1 of 6.
    expect([employees.value, customers.value, everyone.value]).toEqual([100, 25, 50]);
    const fromApi = await api<KpiBuckets>(`/api/v1/kpis?service=broadband&origin=employee&${day}`);
    expect(fromApi.buckets.map((b) => b.kpis.nps)).toEqual([100]);
  });

  it('partner-reported Availability is the partner’s probe results only', async () => {
    const partner = await feeds.read(feed('availability', undefined, { service: 'broadband', origin: 'partner' }), D, D + DAY);
    expect([partner.value, partner.numerator, partner.denominator]).toEqual([5 / 10, 5, 10]);
    const report = await readAvailability(store, {
      service: 'broadband',
      region: undefined,
      origin: 'partner',
      from: D,
      to: D + DAY,
      stepSec: 86_400,
      excuseRetroactive: false,
    });
    expect([report.total.attempts, report.total.availability]).toEqual([10, partner.value]);
    // Without the filter: both regions, every origin.
    const all = await feeds.read(feed('availability', undefined, { service: 'broadband' }), D, D + DAY);
    expect([all.numerator, all.denominator]).toEqual([125 + 5, 130 + 10]);
  });

  it('an origin no source has is refused, naming the five there are', () => {
    const v = feeds.validate(feed('kpi', 'nps', { origin: 'robot' as 'employee' }));
    expect(v.ok ? [] : [v.code, v.field, v.valid]).toEqual([
      'FILTER_NOT_SUPPORTED',
      'filters.origin',
      ['customer', 'network', 'partner', 'manager', 'employee'],
    ]);
  });
});

describe('validation', () => {
  it('an unknown KPI is UNKNOWN_FEED with every valid KPI id, declared ones included', () => {
    const v = feeds.validate(feed('kpi', 'abandonment'));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect([v.code, v.field]).toEqual(['UNKNOWN_FEED', 'name']);
    expect(v.valid).toContain('abandonment_rate');
    for (const k of declaredKpis()) expect(v.valid).toContain(k.id);
    expect(v.message).toMatch(/^No KPI "abandonment"; name one of/);
  });

  it('an unknown KQI lists the model’s KQIs; a CSI name other than value_weighted is refused', () => {
    const kqi = feeds.validate(feed('kqi', 'care'));
    expect(kqi.ok ? [] : [kqi.code, kqi.valid]).toEqual(['UNKNOWN_FEED', model.kqis.map((k) => k.name)]);
    const csi = feeds.validate(feed('csi', 'weighted'));
    expect(csi.ok ? [] : [csi.code, csi.valid]).toEqual(['UNKNOWN_FEED', ['csi', 'value_weighted']]);
    expect(feeds.validate(feed('csi', 'value_weighted'))).toEqual({ ok: true });
  });

  it('a segment on Availability or on the value-weighted CSI is FILTER_NOT_SUPPORTED; an unknown product is UNKNOWN_PRODUCT', async () => {
    const availability = feeds.validate(feed('availability', undefined, { segment: 'vip' }));
    expect(availability.ok ? [] : [availability.code, availability.field, availability.valid]).toEqual([
      'FILTER_NOT_SUPPORTED',
      'filters.segment',
      ['service', 'region', 'product', 'origin'],
    ]);
    const weighted = feeds.validate(feed('csi', 'value_weighted', { segment: 'vip' }));
    expect(weighted.ok ? '' : weighted.code).toBe('FILTER_NOT_SUPPORTED');
    const product = feeds.validate(feed('kpi', 'nps', { product: 'landline' }));
    expect(product.ok ? [] : [product.code, product.valid]).toEqual([
      'UNKNOWN_PRODUCT',
      ['mobile-plan', 'home-internet', 'home-bundle'],
    ]);
    // A goal stored before its feed was checked reads as no_data with the same code.
    const read = await feeds.read(feed('availability', undefined, { segment: 'vip' }), D, D + DAY);
    expect([read.value, read.noData?.code]).toEqual([null, 'FILTER_NOT_SUPPORTED']);
  });
});
