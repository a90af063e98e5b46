import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { origin } from '../shared/sources/common.ts';
import type { Store } from '../shared/store/store.ts';
import { readAvailability } from './availability.ts';
import { HttpError } from './errors.ts';
import { boundedRead, bucketedCost } from './read-limits.ts';
import { checkRange, excuseRetroactiveParam, filterParams, rangeParams, type Step, stepParam } from './time-params.ts';

/** GET /api/v1/availability: Availability and Serviceability per bucket (services/api/availability.ts). */

export function registerAvailabilityRoute(app: FastifyInstance, deps: { store: Store; excuseRetroactiveMaintenance: boolean }) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/availability',
    {
      ...boundedRead<{ from?: number; to?: number; step: Step }>((q) => bucketedCost(q)),
      schema: {
        summary:
          'Availability and Serviceability per bucket, with the counts behind them and the maintenance that touched the range',
        querystring: z.object({
          service: z.string().min(1).max(128).describe('Customer-facing service, e.g. broadband (required).'),
          region: filterParams.region,
          origin: origin
            .optional()
            .describe('Who supplied the probe results: customer, network, partner, manager or employee (default: every origin).'),
          ...rangeParams,
          step: stepParam,
          excuseRetroactive: excuseRetroactiveParam,
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const to = q.to ?? Date.now();
      const from = q.from ?? to - 3600_000;
      const problem = checkRange(from, to, q.step);
      if (problem)
        throw new HttpError(400, 'INVALID_REQUEST', `Invalid querystring: ${problem.field} ${problem.message}`, [problem]);
      return readAvailability(deps.store, {
        service: q.service,
        region: q.region,
        origin: q.origin,
        from,
        to,
        stepSec: q.step.sec,
        calendar: q.step.calendar,
        excuseRetroactive: q.excuseRetroactive ?? deps.excuseRetroactiveMaintenance,
      });
    },
  );
}
