import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { readHeaders, startTestPipeline } from '../support/pipeline.ts';

/**
 * The OpenAPI document is the API's reference: every query parameter of every route says
 * what it means and what it defaults to. And the reads share one time default: the last
 * hour when from/to are absent, /api/v1/events included.
 */

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startTestPipeline({ CXV_SIMULATE: '0' });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

interface Parameter {
  name: string;
  in: string;
  description?: string;
}

describe('the OpenAPI document', () => {
  it('describes every query parameter of every route', async () => {
    const doc = (await (await fetch(`${pipeline.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
    };
    const query = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        (op.parameters ?? []).filter((x) => x.in === 'query').map((x) => ({ at: `${method.toUpperCase()} ${p} ?${x.name}`, x })),
      ),
    );
    expect(query.length).toBeGreaterThan(20);
    expect(query.filter(({ x }) => !x.description?.trim()).map(({ at }) => at)).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/\(later\)/);
  });
});

describe('GET /api/v1/events', () => {
  it('reads the last hour when from and to are absent, as the other reads do', async () => {
    const before = Date.now();
    const res = await fetch(`${pipeline.url}/api/v1/events?source=probe`, { headers: readHeaders() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { from: string; to: string; total: number };
    const to = Date.parse(body.to);
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(Date.now());
    expect(to - Date.parse(body.from)).toBe(3_600_000);
    const onlyTo = (await (
      await fetch(`${pipeline.url}/api/v1/events?source=probe&to=2026-12-01T10:00:00Z`, { headers: readHeaders() })
    ).json()) as { from: string; to: string };
    expect(onlyTo).toMatchObject({ from: '2026-12-01T09:00:00.000Z', to: '2026-12-01T10:00:00.000Z' });
  });
});
