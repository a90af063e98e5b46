import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../../services/api/time-params.ts';
import { loadModel } from '../../services/model/load.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { demoReadCredentials } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { busDouble } from '../ingest/harness.ts';

/**
 * Issue 15, finding 8 (from/to): a `from` or `to` far out of range was a 500 with a
 * stack trace in the log (`Invalid time value`, unsafe integers). Now every read route
 * answers 400 naming the field.
 */

const store: Store = {
  mode: 'embedded',
  database: 'double',
  location: 'nowhere',
  table: (name) => `double.${name}`,
  query: async () => [],
  command: () => Promise.reject(new Error('not in this test')),
  insert: () => Promise.reject(new Error('not in this test')),
  ping: async () => true,
  close: async () => {},
};

/** Reads need a token (issue 15, finding 1): the process's demo read token. */
const READ = { authorization: `Bearer ${demoReadCredentials().token}` };

let app: FastifyInstance;
beforeAll(async () => {
  const model = await loadModel();
  app = await buildHttpApp({
    bus: busDouble().bus,
    store,
    metrics: createMetrics(),
    log: silentLogger,
    excuseRetroactiveMaintenance: false,
    vitals: { store, model: () => model, excuseRetroactiveMaintenance: false },
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const ROUTES = [
  '/api/v1/kpis?',
  '/api/v1/kqis?',
  '/api/v1/csi?',
  '/api/v1/availability?service=voice&',
  '/api/v1/events?source=probe&',
];

describe('from/to far out of range → 400 naming the field, never 500', () => {
  for (const route of ROUTES) {
    it(`${route.split('?')[0]}: unsafe integer, year 275760+, 17 digits, year 1800 → 400 with a field error`, async () => {
      const cases: Array<[string, string]> = [
        ['from', '9999999999999999'], // 10^16 ms: past what Date can show (the "Invalid time value" of the finding)
        ['from', '+275760-09-13T00:00:01Z'], // Date.parse gives NaN
        ['to', '99999999999999999999'], // an unsafe integer
        ['from', '1800-01-01T00:00:00Z'], // before ClickHouse's DateTime64
      ];
      for (const [field, value] of cases) {
        const other = field === 'from' ? 'to=2026-11-23T12:00:00Z' : 'from=2026-11-23T11:00:00Z';
        const res = await app.inject({
          method: 'GET',
          url: `${route}${field}=${encodeURIComponent(value)}&${other}`,
          headers: READ,
        });
        expect({ value, status: res.statusCode }).toEqual({ value, status: 400 });
        const body = res.json() as { code: string; errors: Array<{ field: string; message: string }> };
        expect(body.code).toBe('INVALID_REQUEST');
        expect(body.errors.map((e) => e.field)).toEqual([`querystring.${field}`]);
      }
    });
  }

  it('the bounds themselves are accepted: 1900-01-01 and 2299-12-31T23:59:59.999Z', async () => {
    expect(new Date(MIN_INSTANT_MS).toISOString()).toBe('1900-01-01T00:00:00.000Z');
    expect(new Date(MAX_INSTANT_MS).toISOString()).toBe('2299-12-31T23:59:59.999Z');
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/availability?service=voice&from=2299-12-31T23:00:00Z&to=${MAX_INSTANT_MS}`,
      headers: READ,
    });
    expect(res.statusCode).toBe(200);
  });
});
