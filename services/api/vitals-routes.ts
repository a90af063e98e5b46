import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { servicesOfProduct } from '../model/catalog.ts';
import { explainCsi } from '../model/explain.ts';
import { scoreCsi } from '../model/score.ts';
import { scoreValueWeightedCsi } from '../model/segments.ts';
import type { CxModel } from '../model/types.ts';
import type { Store } from '../shared/store/store.ts';
import { HttpError } from './errors.ts';
import { type KpiBucket, type KpiFilter, kpiValues, readKpiBuckets, readKpiBucketsBySegment } from './kpis.ts';
import { checkRange, instant, step } from './time-params.ts';

/**
 * GET /api/v1/kpis, /api/v1/kqis and /api/v1/csi: per bucket, computed at the requested
 * grain from summed accumulators (never from averaged scores), scored with the model
 * in force. Filters: service, region, segment, product (a product stands for its
 * customer-facing services in the catalog).
 */

export interface VitalsDeps {
  store: Store;
  model: () => CxModel;
  excuseRetroactiveMaintenance: boolean;
}

const boolParam = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const query = z.object({
  service: z.string().min(1).max(128).optional(),
  region: z.string().min(1).max(128).optional(),
  segment: z.string().min(1).max(128).optional(),
  product: z.string().min(1).max(128).optional(),
  from: instant.optional(),
  to: instant.optional(),
  step: step.default(60),
  excuseRetroactive: boolParam.optional(),
});

type VitalsQuery = z.output<typeof query>;

function filterOf(q: VitalsQuery, model: CxModel): KpiFilter {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - 3600_000;
  const problem = checkRange(from, to, q.step);
  if (problem) throw new HttpError(400, 'INVALID_REQUEST', `Invalid querystring: ${problem.field} ${problem.message}`, [problem]);
  let services: string[] = q.service ? [q.service] : [];
  if (q.product) {
    const ofProduct = servicesOfProduct(model, q.product);
    if (ofProduct.length === 0) {
      throw new HttpError(404, 'UNKNOWN_PRODUCT', `No product "${q.product}" in the service catalog (schemas/model).`, [
        { field: 'querystring.product', message: 'not in the service catalog' },
      ]);
    }
    services = q.service ? ofProduct.filter((s) => s === q.service) : ofProduct;
  }
  return { services, region: q.region, segment: q.segment, from, to, stepSec: q.step };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerVitalsRoutes(app: FastifyInstance, deps: VitalsDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const excuse = (q: VitalsQuery) => q.excuseRetroactive ?? deps.excuseRetroactiveMaintenance;

  typed.get(
    '/api/v1/kpis',
    {
      schema: {
        summary: 'Every KPI per bucket (exact at any grain: ratios from summed counts, percentiles from merged sketches)',
        querystring: query,
      },
    },
    async (request) => {
      const q = request.query;
      const model = deps.model();
      const f = filterOf(q, model);
      const buckets = await readKpiBuckets(deps.store, f);
      return {
        filter: { ...f, from: iso(f.from), to: iso(f.to) },
        buckets: buckets.map((b) => ({
          start: iso(b.start),
          end: iso(b.start + f.stepSec * 1000),
          kpis: kpiValues(b, excuse(q)),
        })),
      };
    },
  );

  typed.get(
    '/api/v1/kqis',
    { schema: { summary: 'KQI scores per bucket with coverage and the KPI scores behind each', querystring: query } },
    async (request) => {
      const q = request.query;
      const model = deps.model();
      const f = filterOf(q, model);
      const buckets = await readKpiBuckets(deps.store, f);
      return {
        modelVersion: model.version,
        modelHash: model.hash,
        buckets: buckets.map((b) => ({
          start: iso(b.start),
          end: iso(b.start + f.stepSec * 1000),
          kqis: scoreCsi(model, kpiValues(b, excuse(q))).kqis,
        })),
      };
    },
  );

  typed.get(
    '/api/v1/csi',
    {
      schema: {
        summary:
          'CSI per bucket with its explanation (each KQI’s contribution and points lost, the KPI scores below), and the value-weighted CSI across segments',
        querystring: query,
      },
    },
    async (request) => {
      const q = request.query;
      const model = deps.model();
      const f = filterOf(q, model);
      const buckets = await readKpiBuckets(deps.store, f);
      const segments = Object.keys(model.segments);
      // Every segment's buckets in one read, kept in the model's segment order.
      const segmentBuckets =
        q.segment === undefined ? await readKpiBucketsBySegment(deps.store, f, segments) : new Map<string, KpiBucket[]>();
      const bySegment = segments.flatMap((s) => {
        const list = segmentBuckets.get(s);
        return list ? [[s, list] as const] : [];
      });
      return {
        modelVersion: model.version,
        modelHash: model.hash,
        buckets: buckets.map((b) => {
          const score = scoreCsi(model, kpiValues(b, excuse(q)));
          const segmentScores = new Map(
            bySegment.flatMap(([segment, list]) => {
              const match = list.find((x: KpiBucket) => x.start === b.start);
              return match ? [[segment, scoreCsi(model, kpiValues(match, excuse(q)))] as const] : [];
            }),
          );
          return {
            start: iso(b.start),
            end: iso(b.start + f.stepSec * 1000),
            csi: score.csi,
            coverage: score.coverage,
            explanation: explainCsi(score),
            contributions: score.contributions,
            kqis: score.kqis,
            valueWeighted: segmentScores.size > 0 ? scoreValueWeightedCsi(model, segmentScores) : null,
          };
        }),
      };
    },
  );
}
