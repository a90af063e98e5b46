import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFor } from '../../services/shared/sources/avro.ts';
import { isSourceName, type SourceName } from '../../services/shared/sources/registry.ts';
import { EVENT_SOURCES, EXAMPLES } from './examples.ts';
import { counter, type Edge, json, startEdge } from './harness.ts';
import { deepArray, deepObject, describeRequest, hostileRequest, Rng } from './hostile.ts';

/**
 * Thousands of malformed and hostile bodies at the real HTTP edge (recording bus):
 * never a 5xx, always the one error shape, and the books balance exactly — per
 * source, `received = accepted + rejected` in the counters, the counters equal the sum
 * of what the answers said, and `accepted` equals what the bus recorded.
 *
 * Reproduce a failure with its seed: CXV_FUZZ_SEED=<seed> npx vitest run tests/ingest/fuzz.test.ts
 */

const SEED = Number(process.env.CXV_FUZZ_SEED ?? 20_261_123);
const CASES = Number(process.env.CXV_FUZZ_CASES ?? 12_000);
const PARALLEL = 8;
const EXPECTED_STATUSES = new Set([200, 400, 401, 403, 404, 413, 415, 429]);

const prototypeNames = () =>
  [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort());

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge({ maxBodyBytes: 1024 * 1024 });
});
afterAll(async () => {
  await edge.close();
});

describe(`ingest fuzz (seed ${SEED}, ${CASES} requests)`, () => {
  it('no 5xx, the one error shape, and counters that add up exactly', { timeout: 120_000 }, async () => {
    const prototypesBefore = prototypeNames();
    const rng = new Rng(SEED);
    const failures: string[] = [];
    const answered = new Map<string, { received: number; accepted: number }>();
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    const started = Date.now();

    for (let first = 0; first < CASES; first += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, CASES - first) }, (_, i) => ({
        n: first + i,
        request: hostileRequest(rng),
      }));
      await Promise.all(
        batch.map(async ({ n, request }) => {
          kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
          const fail = (why: string) => failures.push(`#${n} ${why}: ${describeRequest(request)}`);
          let res: Awaited<ReturnType<Edge['inject']>>;
          try {
            res = await edge.inject({
              method: 'POST',
              url: `/api/v1/events/${encodeURIComponent(request.source)}${request.query ? `?${request.query}` : ''}`,
              headers: {
                ...(request.contentType === null ? {} : { 'content-type': request.contentType }),
                ...(request.authorization === null ? {} : { authorization: request.authorization }),
              },
              payload: request.payload,
            });
          } catch (err) {
            fail(`inject threw ${String(err)}`);
            return;
          }
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (!EXPECTED_STATUSES.has(res.statusCode)) fail(`status ${res.statusCode} ${res.body.slice(0, 300)}`);
          let body: Record<string, unknown>;
          try {
            body = json(res);
          } catch {
            fail(`answer is not JSON: ${res.body.slice(0, 200)}`);
            return;
          }
          if (typeof body.code !== 'string' || typeof body.message !== 'string') fail(`answer without code/message`);
          if (typeof body.received === 'number') {
            const { received, accepted, rejected } = body as { received: number; accepted: number; rejected: number };
            if (received !== accepted + rejected) fail(`answer does not add up: ${received} ≠ ${accepted} + ${rejected}`);
            const totals = answered.get(request.source) ?? { received: 0, accepted: 0 };
            answered.set(request.source, { received: totals.received + received, accepted: totals.accepted + accepted });
          }
        }),
      );
    }
    const elapsedMs = Date.now() - started;
    process.stdout.write(
      `fuzz: ${CASES} requests in ${elapsedMs} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ` +
        `kinds ${JSON.stringify(Object.fromEntries(kinds))}\n`,
    );

    expect(failures.slice(0, 10)).toEqual([]);
    // The run hit what it means to hit.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 404, 413, 415]));

    const recorded = new Map<string, number>();
    for (const { topic, messages } of edge.bus.produced) {
      const source = topic.split('.')[1] ?? '';
      recorded.set(source, (recorded.get(source) ?? 0) + messages.length);
      // Everything on the bus is valid Avro of its source.
      for (const m of messages) expect(() => codecFor(source as SourceName).decode(m.value)).not.toThrow();
    }
    for (const source of EVENT_SOURCES) {
      const received = await counter(edge.metrics, 'cxv_ingest_events_received_total', { source });
      const accepted = await counter(edge.metrics, 'cxv_ingest_events_accepted_total', { source });
      const rejected = await counter(edge.metrics, 'cxv_ingest_events_rejected_total', { source });
      expect({ source, received, accepted, rejected, recorded: recorded.get(source) ?? 0 }).toEqual({
        source,
        received: accepted + rejected,
        accepted: answered.get(source)?.accepted ?? 0,
        rejected: (answered.get(source)?.received ?? 0) - (answered.get(source)?.accepted ?? 0),
        recorded: accepted,
      });
      expect(accepted, `${source}: some events went through`).toBeGreaterThan(0);
    }
    expect((await edge.ingest.stats()).balanced).toBe(true);
    expect(edge.ingest.capacity.inFlight).toBe(0);
    expect(prototypeNames()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('hostile bodies, one by one', () => {
  it.each([
    ['arrays', deepArray(1_000_000), [[0, '(event)']]],
    ['objects', deepObject(1_000_000), [[0, 'eventId']]],
  ])('1,000,000 nested %s do not blow the stack: one event, rejected at index 0', async (_shape, deep, firstError) => {
    const big = await startEdge({ maxBodyBytes: 8 * 1024 * 1024 });
    try {
      const res = await big.post('probe', deep);
      expect(res.statusCode).toBe(400);
      expect(json(res)).toMatchObject({ received: 1, accepted: 0, rejected: 1 });
      const errors = json<{ errors: Array<{ index: number; field: string }> }>(res).errors;
      expect(errors.slice(0, 1).map((e) => [e.index, e.field])).toEqual(firstError);
      const inField = await big.post('probe', `[{"eventId":${deep}}]`);
      expect(inField.statusCode).toBe(400);
    } finally {
      await big.close();
    }
  });

  it('__proto__, constructor and prototype keys are data: nothing is polluted and they never reach the bus', async () => {
    const text = `[{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${JSON.stringify(EXAMPLES.probe).slice(1)}]`;
    const res = await edge.post('probe', text);
    expect(res.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const last = edge.bus.produced.at(-1)?.messages[0];
    const record = codecFor('probe').decode(last?.value ?? Buffer.alloc(0));
    expect(Object.keys(record)).not.toContain('polluted');
    expect(record.eventId).toBe('p-1');
  });

  it('NUL bytes and injection strings are stored verbatim as data', async () => {
    const reason = "x'); DROP TABLE cxvitals.raw_events; --\u0000<script>";
    const res = await edge.post('contact', [{ ...EXAMPLES.contact, reason }]);
    expect(res.statusCode).toBe(200);
    expect(codecFor('contact').decode(edge.bus.produced.at(-1)?.messages[0]?.value ?? Buffer.alloc(0)).reason).toBe(reason);
  });

  it('invalid UTF-8 becomes U+FFFD, never an error of the server', async () => {
    const body = Buffer.concat([
      Buffer.from(`[${JSON.stringify({ ...EXAMPLES.contact, reason: 'A' }).replace(/"A"\}$/, '"A')}`),
      Buffer.from([0xff, 0xc0, 0xaf]),
      Buffer.from('B"}]'),
    ]);
    const res = await edge.post('contact', body);
    expect(res.statusCode).toBe(200);
    const record = codecFor('contact').decode(edge.bus.produced.at(-1)?.messages[0]?.value ?? Buffer.alloc(0));
    expect(record.reason).toBe('A\ufffd\ufffd\ufffdB');
  });

  it('1e309, -0 and the string NaN: infinite and non-numbers are refused, -0 is a number', async () => {
    const text = `[${['"waitSec":1e309', '"waitSec":-0', '"waitSec":"NaN"']
      .map((field) => JSON.stringify(EXAMPLES.contact).replace('"waitSec":42', field))
      .join(',')}]`;
    const res = await edge.post('contact', text);
    expect(json<{ errors: Array<{ index: number; field: string }> }>(res).errors.map((e) => [e.index, e.field])).toEqual([
      [0, 'waitSec'],
      [2, 'waitSec'],
    ]);
  });

  it('sources named like Object.prototype members are unknown sources', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(isSourceName(name)).toBe(false);
      expect((await edge.post(name, [EXAMPLES.probe])).statusCode, name).toBe(404);
    }
  });
});
