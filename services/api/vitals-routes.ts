import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CxModel } from '../model/types.ts';
import { origin } from '../shared/sources/common.ts';
import type { Store } from '../shared/store/store.ts';
import type { KpiFilter } from '../shared/vitals/filter.ts';
import { kpiFilterOf, readCsiSeries, readKpiSeries, readKqiSeries } from '../shared/vitals/reads.ts';
import { HttpError } from './errors.ts';
import { boundedRead, bucketedCost, bucketsAnswer } from './read-limits.ts';
import { checkRange, excuseRetroactiveParam, filterParams, rangeParams, stepParam } from './time-params.ts';

/**
 * GET /api/v1/kpis, /api/v1/kqis and /api/v1/csi: HTTP over the read model
 * (services/shared/vitals/reads.ts), which computes every bucket at the requested grain
 * from summed accumulators and scores it with the model in force. Filters: service,
 * region, segment, product (a product stands for its customer-facing services in the
 * catalog), origin (who supplied the data).
 */

export interface VitalsDeps {
  store: Store;
  model: () => CxModel;
  excuseRetroactiveMaintenance: boolean;
}

const query = z.object({
  ...filterParams,
  product: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('Product of the service catalog: stands for its customer-facing services (use it or service, not both).'),
  origin: origin
    .optional()
    .describe('Who supplied the data: customer, network, partner, manager or employee (default: every origin).'),
  ...rangeParams,
  step: stepParam,
  excuseRetroactive: excuseRetroactiveParam,
});

type VitalsQuery = z.output<typeof query>;

function filterOf(q: VitalsQuery, model: CxModel): KpiFilter {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - 3600_000;
  const problem = checkRange(from, to, q.step);
  if (problem) throw new HttpError(400, 'INVALID_REQUEST', `Invalid querystring: ${problem.field} ${problem.message}`, [problem]);
  const resolved = kpiFilterOf(model, q, { from, to, stepSec: q.step.sec, calendar: q.step.calendar });
  if (!resolved.ok) {
    throw new HttpError(404, resolved.error.code, resolved.error.message, [
      { field: `querystring.${resolved.error.field}`, message: 'not in the service catalog' },
    ]);
  }
  return resolved.filter;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerVitalsRoutes(app: FastifyInstance, deps: VitalsDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const options = (q: VitalsQuery) => ({ excuseRetroactive: q.excuseRetroactive ?? deps.excuseRetroactiveMaintenance });

  typed.get(
    '/api/v1/kpis',
    {
      ...boundedRead<VitalsQuery>((q) => bucketedCost(q)),
      schema: {
        summary: 'Every KPI per bucket (exact at any grain: ratios from summed counts, percentiles from merged sketches)',
        querystring: query,
      },
    },
    async (request, reply) => {
      const q = request.query;
      const f = filterOf(q, deps.model());
      const series = await readKpiSeries(deps.store, f, options(q));
      return bucketsAnswer(
        reply,
        { filter: { ...f, from: iso(f.from), to: iso(f.to) } },
        series.map((b) => ({ start: iso(b.start), end: iso(b.end), kpis: b.kpis })),
      );
    },
  );

  typed.get(
    '/api/v1/kqis',
    {
      ...boundedRead<VitalsQuery>((q) => bucketedCost(q)),
      schema: { summary: 'KQI scores per bucket with coverage and the KPI scores behind each', querystring: query },
    },
    async (request, reply) => {
      const q = request.query;
      const model = deps.model();
      const series = await readKqiSeries(deps.store, model, filterOf(q, model), options(q));
      return bucketsAnswer(
        reply,
        { modelVersion: model.version, modelHash: model.hash },
        series.map((b) => ({ start: iso(b.start), end: iso(b.end), kqis: b.kqis })),
      );
    },
  );

  typed.get(
    '/api/v1/csi',
    {
      // The plain CSI and, without a segment filter, one series per segment for the value-weighted CSI.
      ...boundedRead<VitalsQuery>((q) =>
        q.segment === undefined
          ? bucketedCost(q, 1 + Object.keys(deps.model().segments).length, 'series (CSI and each segment)')
          : bucketedCost(q),
      ),
      schema: {
        summary:
          'CSI per bucket with its explanation (each KQI’s contribution and points lost, the KPI scores below), and the value-weighted CSI across segments',
        querystring: query,
      },
    },
    async (request, reply) => {
      const q = request.query;
      const model = deps.model();
      const series = await readCsiSeries(deps.store, model, filterOf(q, model), options(q));
      return bucketsAnswer(
        reply,
        { modelVersion: model.version, modelHash: model.hash },
        series.map((b) => ({
          start: iso(b.start),
          end: iso(b.end),
          csi: b.csi,
          coverage: b.coverage,
          explanation: b.explanation,
          contributions: b.contributions,
          kqis: b.kqis,
          valueWeighted: b.valueWeighted,
        })),
      );
    },
  );
}
