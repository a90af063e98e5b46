import type { FastifyInstance, FastifyReply } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketedCost,
  bucketsAnswer,
  configureReadLimits,
  DEFAULT_READ_LIMITS,
  formatDuration,
  type ReadLimitSettings,
  readTooLarge,
} from '../../services/api/read-limits.ts';
import { loadModel } from '../../services/model/load.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { generateReadToken, parseReadTokenEntries, ReadTokens } from '../../services/shared/auth/tokens.ts';
import { loadConfig } from '../../services/shared/config/config.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import type { Store } from '../../services/shared/store/store.ts';
import type { KpiBucket } from '../../services/shared/vitals/buckets.ts';
import { valueWeightedAt } from '../../services/shared/vitals/scores.ts';
import { busDouble } from '../ingest/harness.ts';

/**
 * Issue 15, finding 2: `GET /api/v1/csi?from=<now − 9,999 min>&to=<now>&step=1m` took
 * 3.2 s and 45 MB; eight at once held /livez for 8.9 s; segments were matched with
 * `list.find` inside a loop over buckets. Now each read has a cost limit (buckets ×
 * series), an answer-size limit, and runs in a bounded number of slots per client and
 * per process, so the health routes never wait behind reads.
 */

const NOW = Date.UTC(2026, 11, 7, 1, 0, 0);
const MINUTE = 60_000;

/** A store whose queries wait for `release()` (each answers no rows); counts them. */
function heldStore() {
  const waiting: Array<() => void> = [];
  let queries = 0;
  const store: Store = {
    mode: 'embedded',
    database: 'double',
    location: 'nowhere',
    table: (name) => `double.${name}`,
    query: <T>(sql: string) => {
      // Only the read routes' queries are held (start-up work of the dashboard answers at once).
      if (!double.holding || !/kpi_1m|probe_kpi_1m|maintenance_windows/.test(sql)) return Promise.resolve([] as T[]);
      queries += 1;
      return new Promise<T[]>((resolve) => waiting.push(() => resolve([])));
    },
    command: () => Promise.reject(new Error('not in this test')),
    insert: () => Promise.reject(new Error('not in this test')),
    ping: async () => true,
    close: async () => {},
  };
  const double = {
    store,
    holding: false,
    queries: () => queries,
    release() {
      for (const w of waiting.splice(0)) w();
    },
  };
  return double;
}

/** Every read needs a token (issue 15): one with every read scope. */
const reader = generateReadToken(['read:vitals', 'read:events', 'read:metrics']);
const authorization = { authorization: `Bearer ${reader.token}` };
let app: FastifyInstance;
let held: ReturnType<typeof heldStore>;
let segments: number;
beforeAll(async () => {
  const model = await loadModel();
  segments = Object.keys(model.segments).length;
  held = heldStore();
  app = await buildHttpApp({
    bus: busDouble().bus,
    store: held.store,
    metrics: createMetrics(),
    log: silentLogger,
    excuseRetroactiveMaintenance: false,
    auth: { readTokens: ReadTokens.fromEntries(parseReadTokenEntries(reader.entry, 'test')) },
    vitals: { store: held.store, model: () => model, excuseRetroactiveMaintenance: false },
  });
  await app.ready();
  held.holding = true;
});
afterAll(async () => {
  held.release();
  await app?.close();
});
afterEach(() => {
  configureReadLimits(DEFAULT_READ_LIMITS);
});

const limits = (o: Partial<ReadLimitSettings>) => configureReadLimits({ ...DEFAULT_READ_LIMITS, ...o });
const get = (url: string, ip = '10.0.0.1') => app.inject({ method: 'GET', url, remoteAddress: ip, headers: authorization });
const settle = () => new Promise((r) => setTimeout(r, 20));
/** Answers held queries until every request has its answer. */
async function drain<T>(requests: Array<Promise<T>>): Promise<T[]> {
  let done = false;
  const all = Promise.all(requests).finally(() => {
    done = true;
  });
  for (let i = 0; i < 200 && !done; i += 1) {
    held.release();
    await settle();
  }
  return all;
}

describe('cost limit: buckets × series', () => {
  it('the defaults: 2,500 cells and 4 MiB, as the configuration declares them', () => {
    // A CSI bucket with its explanation and segments is ~5 KB of JSON: 625 such buckets ≈ 3.3 MB,
    // against 45 MB for the reproduction. The dashboard asks for at most 24 buckets.
    expect(DEFAULT_READ_LIMITS).toEqual({
      maxCells: 2_500,
      maxResponseBytes: 4_194_304,
      concurrency: 2,
      perClientConcurrency: 1,
      perClientQueue: 16,
    });
    expect(loadConfig({}).reads).toEqual(DEFAULT_READ_LIMITS);
  });

  it('the reproduction: CSI over 9,999 one-minute buckets → 400 READ_TOO_LARGE naming the limit and a step that fits, before any query', async () => {
    expect(segments).toBe(3); // consumer, business, vip in schemas/model
    const before = held.queries();
    const res = await get(`/api/v1/csi?from=${NOW - 9_999 * MINUTE}&to=${NOW}&step=1m`);
    expect(res.statusCode).toBe(400);
    // 9,999 buckets × (1 CSI + 3 segments) = 39,996 > 2,500; 5m gives 2,000 × 4 = 8,000 and
    // 15m 667 × 4 = 2,668, both over; 1h gives 167 × 4 = 668; at 1m, 2,500 / 4 = 625 buckets = 10h 25m.
    expect(res.json()).toEqual({
      code: 'READ_TOO_LARGE',
      message:
        '9,999 buckets × 4 series (CSI and each segment) = 39,996 exceeds CXV_READ_MAX_CELLS (2,500); use step=1h, a range of at most 10h 25m at step=1m, or a segment filter (one series).',
      errors: [{ field: 'querystring.step', message: '39,996 cells over the limit of 2,500' }],
    });
    expect(held.queries()).toBe(before);
  });

  it('a segment filter makes a CSI read one series: 2,500 one-minute buckets fit, against 625 with every segment', async () => {
    const max = DEFAULT_READ_LIMITS.maxCells;
    expect(readTooLarge(bucketedCost({ from: NOW - 2_500 * MINUTE, to: NOW, step: 60 }), max)).toBeUndefined();
    expect(readTooLarge(bucketedCost({ from: NOW - 625 * MINUTE, to: NOW, step: 60 }, 4), max)).toBeUndefined();
    expect(readTooLarge(bucketedCost({ from: NOW - 626 * MINUTE, to: NOW, step: 60 }, 4), max)?.code).toBe('READ_TOO_LARGE');
    // Through the route: 626 buckets with every segment is refused, the same range for one segment is read.
    const range = `from=${NOW - 626 * MINUTE}&to=${NOW}&step=1m`;
    expect((await get(`/api/v1/csi?${range}`)).json()).toMatchObject({ code: 'READ_TOO_LARGE' });
    const [one] = await drain([get(`/api/v1/csi?${range}&segment=vip`)]);
    expect(one?.statusCode).toBe(200);
  });

  it('KPIs and KQIs are one series per bucket: 2,501 buckets is over, with a coarser step offered', () => {
    const e = readTooLarge(bucketedCost({ from: NOW - 2_501 * MINUTE, to: NOW, step: 60 }), DEFAULT_READ_LIMITS.maxCells);
    expect(e?.message).toBe(
      '2,501 buckets × 1 series = 2,501 exceeds CXV_READ_MAX_CELLS (2,500); use step=5m, a range of at most 1d 17h 40m at step=1m.',
    );
    expect(formatDuration(2_500 * 60)).toBe('1d 17h 40m');
    expect(formatDuration(20_000 * 60)).toBe('13d 21h 20m');
  });

  it('a week at step=5m (2,016 buckets) fits for KPIs; a week of CSI with every segment needs step=1h', () => {
    const week = { from: NOW - 7 * 1440 * MINUTE, to: NOW };
    expect(readTooLarge(bucketedCost({ ...week, step: 300 }), DEFAULT_READ_LIMITS.maxCells)).toBeUndefined();
    // 2,016 × 4 = 8,064 at 5m and 672 × 4 = 2,688 at 15m are over; 168 × 4 = 672 at 1h fits.
    expect(readTooLarge(bucketedCost({ ...week, step: 300 }, 4), DEFAULT_READ_LIMITS.maxCells)?.message).toMatch(/use step=1h,/);
  });

  it('the default range is the last hour: 60 buckets', () => {
    expect(bucketedCost({ step: 60 }, 1, undefined, NOW)).toEqual({
      from: NOW - 3600_000,
      to: NOW,
      stepSec: 60,
      series: 1,
      seriesLabel: undefined,
    });
  });
});

describe('segments are looked up by bucket start, not scanned', () => {
  it('value-weighted CSI over n buckets reads each segment list O(n) times, not O(n²)', async () => {
    const model = await loadModel();
    const n = 2_000;
    let reads = 0;
    const counted = (list: KpiBucket[]) =>
      new Proxy(list, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
          return Reflect.get(target, key, receiver);
        },
      });
    const buckets = Array.from({ length: n }, (_, i) => ({
      start: i * MINUTE,
      accumulators: {},
      declared: {},
      socialSurge: null,
    })) as unknown as KpiBucket[];
    const bySegment = new Map(Object.keys(model.segments).map((s) => [s, counted(buckets)]));
    for (let i = 0; i < n; i += 1) valueWeightedAt(model, bySegment, i * MINUTE, false);
    // One pass per segment list to index it: 3 × 2,000; a find per bucket would read ~3 × 2,000²/2.
    expect(reads).toBe(3 * n);
  });
});

describe('bounded concurrency: reads wait for a slot; health routes never do', () => {
  it('one client with a read running and one waiting gets 429 READS_BUSY on the next; /livez answers meanwhile', async () => {
    limits({ concurrency: 1, perClientConcurrency: 1, perClientQueue: 1 });
    const first = get('/api/v1/kpis?step=1m');
    const second = get('/api/v1/kpis?step=1m');
    await settle();
    const third = await get('/api/v1/kpis?step=1m');
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json()).toMatchObject({ code: 'READS_BUSY' });
    const live = await get('/livez');
    expect(live.statusCode).toBe(200);
    // Another client waits for the process's one slot without being refused.
    const other = get('/api/v1/kqis?step=1m', '10.0.0.2');
    await settle();
    expect((await drain([first, second, other])).map((r) => r.statusCode)).toEqual([200, 200, 200]);
  });

  it('the process slot is shared: with 1 slot, a second client’s read starts only after the first answered', async () => {
    limits({ concurrency: 1, perClientConcurrency: 2 });
    const before = held.queries();
    const a = get('/api/v1/kpis?step=1m', '10.0.0.3');
    await settle();
    const afterA = held.queries();
    const b = get('/api/v1/kpis?step=1m', '10.0.0.4');
    await settle();
    expect(held.queries()).toBe(afterA); // b is waiting for the slot, not querying
    expect(afterA).toBeGreaterThan(before);
    expect((await drain([a, b])).map((r) => r.statusCode)).toEqual([200, 200]);
  });
});

describe('answer-size limit', () => {
  it('an answer over CXV_READ_MAX_RESPONSE_BYTES is replaced by 400 READ_TOO_LARGE saying how to narrow it', async () => {
    limits({ maxResponseBytes: 100 });
    const [answer] = await drain([get('/api/v1/kpis?step=1m')]);
    if (!answer) throw new Error('no answer');
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ code: 'READ_TOO_LARGE' });
    expect(answer.json().message).toMatch(/^The answer is \d+ bytes, over CXV_READ_MAX_RESPONSE_BYTES \(100\); narrow the range/);
  });
});

describe('answers serialised bucket by bucket', () => {
  const reply = () => {
    const types: string[] = [];
    return { types, reply: { type: (t: string) => types.push(t) } as unknown as FastifyReply };
  };

  it('gives the bytes JSON.stringify gives, with the JSON content type', async () => {
    const buckets = [
      { start: '2026-12-07T00:00:00.000Z', csi: 87.5, explanation: 'Résolution ’first’ contact', valueWeighted: null },
      { start: '2026-12-07T00:01:00.000Z', csi: null, kqis: { a: [1, 2] } },
    ];
    const head = { modelVersion: 3, modelHash: 'abc' };
    const r = reply();
    const bytes = await bucketsAnswer(r.reply, head, buckets);
    expect(bytes.toString('utf8')).toBe(JSON.stringify({ ...head, buckets }));
    expect(bytes.length).toBe(Buffer.byteLength(JSON.stringify({ ...head, buckets })));
    expect(r.types).toEqual(['application/json; charset=utf-8']);
  });

  it('without a head or buckets: {"buckets":[]}', async () => {
    expect((await bucketsAnswer(reply().reply, {}, [])).toString()).toBe('{"buckets":[]}');
    expect((await bucketsAnswer(reply().reply, { a: 1 }, [])).toString()).toBe('{"a":1,"buckets":[]}');
  });

  it('lets other callbacks run while it serialises: a timer set before fires before a 5,000-bucket answer is done', async () => {
    const buckets = Array.from({ length: 5_000 }, (_, i) => ({ start: i, text: 'x'.repeat(2_000) }));
    let fired = false;
    setTimeout(() => {
      fired = true;
    }, 0);
    let firedBeforeDone = false;
    const answer = bucketsAnswer(reply().reply, {}, buckets).then((b) => {
      firedBeforeDone = fired;
      return b;
    });
    expect((await answer).length).toBe(Buffer.byteLength(JSON.stringify({ buckets })));
    expect(firedBeforeDone).toBe(true);
  });
});
