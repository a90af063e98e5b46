import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { goalStatuses } from '../goals/evaluate.ts';
import type { CxModel } from '../model/types.ts';
import { isKpiId, KPI_CATALOG } from '../shared/kpi/catalog.ts';
import { declaredKpis } from '../shared/sources/registry.ts';
import type { Store } from '../shared/store/store.ts';
import { distinctWithData } from '../shared/vitals/written.ts';
import { PROBLEM_MEANING } from './raw-events.ts';

/**
 * What the dashboard needs besides the read API:
 *
 * - GET /api/v1/dashboard/meta — the filter choices (services and regions seen in the
 *   data, capped; segments and products from the model), the model's KQIs and KPIs
 *   with the source each KPI is computed from (where drill-down finds raw events).
 * - GET /api/v1/dashboard/goals — each goal's latest evaluation status, from the goals
 *   service's history table. Only ids, statuses and numbers: the same the unauthenticated
 *   /metrics already exports as cxv_goal_status; titles stay behind the goals API's token.
 */

export interface MetaDeps {
  store: Store;
  model: () => CxModel;
  staleAfterMs: number;
  maxServices: number;
  maxRegions: number;
}

const DAY = 86_400_000;

const meta = z.object({
  services: z.array(
    z.object({ name: z.string(), label: z.string(), partners: z.array(z.string()), products: z.array(z.string()) }),
  ),
  regions: z.array(z.string()),
  segments: z.array(z.string()),
  products: z.array(z.object({ name: z.string(), label: z.string(), services: z.array(z.string()) })),
  kqis: z.array(z.object({ name: z.string(), label: z.string(), weight: z.number() })),
  kpis: z.record(
    z.string(),
    z.object({
      label: z.string(),
      unit: z.string(),
      better: z.string(),
      source: z.string(),
      problemMeaning: z.string().nullable(),
    }),
  ),
  staleAfterMs: z.number(),
  truncated: z.object({ services: z.boolean(), regions: z.boolean() }),
});

const goals = z.object({
  counts: z.record(z.string(), z.number().int()),
  goals: z.array(
    z.object({
      goalId: z.string(),
      kind: z.string(),
      status: z.string(),
      value: z.number().nullable(),
      target: z.number(),
      comparator: z.string(),
      evaluatedAt: z.string(),
    }),
  ),
});

/** The source whose raw events explain a KPI: the family of a built-in KPI, the declaring source otherwise. */
export function kpiSource(kpi: string): string {
  if (isKpiId(kpi)) return KPI_CATALOG[kpi].family;
  return declaredKpis().find((k) => k.id === kpi)?.source ?? 'probe';
}

export function registerMetaRoutes(app: FastifyInstance, deps: MetaDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/api/v1/dashboard/meta',
    { schema: { summary: 'Dashboard filter choices and the model’s KQIs and KPIs', response: { 200: meta } } },
    async () => {
      const model = deps.model();
      const [seenServices, regions] = await Promise.all([
        distinctWithData(deps.store, 'service', Date.now() - DAY, deps.maxServices + 1),
        distinctWithData(deps.store, 'region', Date.now() - DAY, deps.maxRegions + 1),
      ]);
      // Catalogue services first (in catalogue order), then services only seen in the data.
      const catalogued = model.catalog.customerServices.map((c) => c.name);
      const names = [...new Set([...catalogued, ...seenServices])];
      const labelOf = new Map(model.catalog.customerServices.map((c) => [c.name, c]));
      const resources = new Map(model.catalog.resourceServices.map((r) => [r.name, r]));
      const services = names.slice(0, deps.maxServices).map((name) => {
        const c = labelOf.get(name);
        const suppliers = [c?.supplier, ...(c?.resources ?? []).map((r) => resources.get(r)?.supplier)];
        return {
          name,
          label: c?.label ?? name,
          partners: [...new Set(suppliers.flatMap((s) => (s?.kind === 'partner' ? [s.partner] : [])))],
          products: model.catalog.products.filter((p) => p.services.includes(name)).map((p) => p.name),
        };
      });
      const kpis = Object.fromEntries(
        Object.values(model.kpis).map((k) => {
          const source = kpiSource(k.kpi);
          const better = isKpiId(k.kpi)
            ? KPI_CATALOG[k.kpi].better
            : (declaredKpis().find((d) => d.id === k.kpi)?.better ?? 'either');
          return [k.kpi, { label: k.label, unit: k.unit, better, source, problemMeaning: PROBLEM_MEANING[source] ?? null }];
        }),
      );
      return {
        services,
        regions: regions.slice(0, deps.maxRegions),
        segments: Object.keys(model.segments),
        products: model.catalog.products.map((p) => ({ name: p.name, label: p.label, services: p.services })),
        kqis: model.kqis.map((k) => ({
          name: k.name,
          label: k.label,
          weight: model.csi.find((c) => c.kqi === k.name)?.weight ?? 0,
        })),
        kpis,
        staleAfterMs: deps.staleAfterMs,
        truncated: { services: names.length > deps.maxServices, regions: regions.length > deps.maxRegions },
      };
    },
  );

  typed.get(
    '/api/v1/dashboard/goals',
    {
      schema: {
        summary: 'Latest evaluation status of every goal still in play (ids and numbers only)',
        response: { 200: goals },
      },
    },
    async () => {
      // The history keeps a row per change of outcome, so the newest row is the current
      // status; goals whose period ended (final) more than a day ago are left out.
      const rows = await deps.store.query<{
        goal_id: string;
        kind: string;
        last_status: string;
        last_value: number | null;
        last_target: number;
        last_comparator: string;
        at: string;
        last_final: number;
        last_period_end: string;
      }>(
        // Aliases differ from column names: ClickHouse would resolve argMax(status, …) to the alias.
        `SELECT goal_id, argMax(goal_kind, evaluated_at) AS kind, argMax(status, evaluated_at) AS last_status,
                argMax(value, evaluated_at) AS last_value, argMax(target, evaluated_at) AS last_target,
                argMax(comparator, evaluated_at) AS last_comparator, toString(toUnixTimestamp64Milli(max(evaluated_at))) AS at,
                argMax(final, evaluated_at) AS last_final,
                toString(toUnixTimestamp64Milli(argMax(period_end, evaluated_at))) AS last_period_end
         FROM ${deps.store.table('goals_evaluations')} GROUP BY goal_id ORDER BY goal_id LIMIT 1000`,
      );
      const inPlay = rows.filter((r) => Number(r.last_final) === 0 || Number(r.last_period_end) > Date.now() - DAY);
      const counts = Object.fromEntries(goalStatuses.map((s) => [s, inPlay.filter((r) => r.last_status === s).length]));
      return {
        counts,
        goals: inPlay.map((r) => ({
          goalId: r.goal_id,
          kind: r.kind,
          status: r.last_status,
          value: r.last_value === null ? null : Number(r.last_value),
          target: Number(r.last_target),
          comparator: r.last_comparator,
          evaluatedAt: new Date(Number(r.at)).toISOString(),
        })),
      };
    },
  );
}
