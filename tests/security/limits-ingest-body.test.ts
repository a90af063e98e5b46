import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countEventsUpTo, parseEventsBody } from '../../services/ingest/body.ts';
import { counter, type Edge, json, startEdge } from '../ingest/harness.ts';

/**
 * Issue 15, finding 8 (body): a 9 MB ingest body of 3 million `{}` was parsed whole
 * before its 413 (RSS 0.85 → 1.5 GB with four at once). Ingest now counts the events
 * of a body without parsing it and refuses one holding more than a request may carry
 * (CXV_INGEST_MAX_IN_FLIGHT_EVENTS, default 50,000) before anything is built.
 */

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge({ maxBodyBytes: 16 * 1024 * 1024 });
});
afterAll(async () => {
  await edge.close();
});

describe('an oversized ingest body is refused by its count before it is parsed', () => {
  it('the reproduction: 3,000,000 × {} in a 9 MB JSON array → 413 BATCH_TOO_LARGE, and JSON.parse never sees the body', async () => {
    const body = `[${Array(3_000_000).fill('{}').join(',')}]`;
    expect(body.length).toBe(8_999_999 + 2);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await edge.post('probe', body);
      expect(res.statusCode).toBe(413);
      expect(json(res)).toMatchObject({ code: 'BATCH_TOO_LARGE' });
      expect(json(res).message).toContain('more than 50000 events');
      expect(json(res).message).toContain('CXV_INGEST_MAX_IN_FLIGHT_EVENTS');
      // The body was not parsed (light-my-request parses the 413 answer itself: a short string).
      expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length > 1_000_000)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
    // Nothing of it was read, so nothing of it is counted (received = accepted + rejected holds).
    expect(await counter(edge.metrics, 'cxv_ingest_received_total')).toBe(0);
  });

  it('the same as NDJSON: 3,000,000 lines of {} → 413 before any line is parsed', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await edge.post('probe', '{}\n'.repeat(3_000_000), { contentType: 'application/x-ndjson' });
      expect(res.statusCode).toBe(413);
      expect(json(res)).toMatchObject({ code: 'BATCH_TOO_LARGE' });
      expect(parse.mock.calls.filter(([text]) => text === '{}')).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });

  it('counting stops one past the limit: 3 million elements are not walked to learn there are more than 10', () => {
    expect(countEventsUpTo(`[${Array(3_000_000).fill('{}').join(',')}]`, 'json', 10)).toBe(11);
    expect(countEventsUpTo('{}\n'.repeat(3_000_000), 'ndjson', 10)).toBe(11);
  });

  it('the count agrees with the parser on valid bodies (strings with commas, brackets and escapes, nesting, blank lines)', () => {
    const cases: Array<[string, 'json' | 'ndjson']> = [
      ['[]', 'json'],
      [' [ ] ', 'json'],
      ['{"a":1}', 'json'],
      ['\uFEFF[{"a":1}]', 'json'],
      ['[{"t":"a,b],[c\\",{"},{"n":[1,2,{"x":[3]}]},7,"s"]', 'json'],
      ['[[1,2],[3]]', 'json'],
      ['{"a":1}\n\n{"b":"x\\ny"}\r\n  \n{"c":[1,2]}', 'ndjson'],
      ['{"a":1}', 'ndjson'],
      ['', 'ndjson'],
    ];
    for (const [text, format] of cases) {
      expect({ text, count: countEventsUpTo(text, format, 1_000) }).toEqual({
        text,
        count: parseEventsBody(text, format).count,
      });
    }
  });
});
