import { servicesOfProduct } from '../../model/catalog.ts';
import type { CxModel } from '../../model/types.ts';
import type { Store } from '../store/store.ts';
import { type KpiBucket, kpiValues, readKpiBuckets, readKpiBucketsBySegment } from './buckets.ts';
import { bucketEndOf, bucketingOf, type Calendar, type KpiFilter } from './filter.ts';
import { csiView, scoreBucket, valueWeightedAt } from './scores.ts';
import { mapInSlices } from './slices.ts';

/**
 * The reads behind GET /api/v1/kpis, /kqis and /csi, per bucket, computed at the
 * requested grain from summed accumulators (never from averaged scores) and scored with
 * the model in force. The HTTP routes only parse and answer; goals read the same
 * functions through their feeds (services/goals/feeds.ts). Scoring runs in slices of a
 * few milliseconds (slices.ts) so that the heaviest read the limits allow leaves the
 * event loop to /livez and ingest between them.
 */

export interface VitalsSelection {
  service?: string | undefined;
  region?: string | undefined;
  segment?: string | undefined;
  /** A product stands for its customer-facing services in the model's service catalog. */
  product?: string | undefined;
  /** Who supplied the data: customer, network, partner, manager, employee. */
  origin?: string | undefined;
}

export interface VitalsError {
  code: 'UNKNOWN_PRODUCT';
  message: string;
  field: string;
}

/** The services a selection reads: the service, the product's services (narrowed to the service), or all. */
export function servicesOf(
  model: CxModel,
  s: VitalsSelection,
): { ok: true; services: string[] } | { ok: false; error: VitalsError } {
  if (!s.product) return { ok: true, services: s.service ? [s.service] : [] };
  const ofProduct = servicesOfProduct(model, s.product);
  if (ofProduct.length === 0) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_PRODUCT',
        message: `No product "${s.product}" in the service catalog (schemas/model); valid products: ${model.catalog.products.map((p) => p.name).join(', ') || 'none'}.`,
        field: 'product',
      },
    };
  }
  return { ok: true, services: s.service ? ofProduct.filter((x) => x === s.service) : ofProduct };
}

/**
 * A product whose services leave nothing after narrowing to `service` selects no data at
 * all, not every service: an empty list here means "none", so it reads a service no row has.
 */
export const NO_SERVICE = '\u0000none';

export function kpiFilterOf(
  model: CxModel,
  s: VitalsSelection,
  range: { from: number; to: number; stepSec: number; calendar?: Calendar | undefined },
): { ok: true; filter: KpiFilter } | { ok: false; error: VitalsError } {
  const services = servicesOf(model, s);
  if (!services.ok) return services;
  const list = s.product && services.services.length === 0 ? [NO_SERVICE] : services.services;
  return { ok: true, filter: { services: list, region: s.region, segment: s.segment, origin: s.origin, ...range } };
}

export interface ReadOptions {
  excuseRetroactive: boolean;
}

const bucketEnd = (b: KpiBucket, f: KpiFilter) => bucketEndOf(b.start, bucketingOf(f));

/** Every KPI per bucket. */
export async function readKpiSeries(store: Store, f: KpiFilter, o: ReadOptions) {
  const buckets = await readKpiBuckets(store, f);
  return mapInSlices(buckets, (b) => ({ start: b.start, end: bucketEnd(b, f), kpis: kpiValues(b, o.excuseRetroactive) }));
}

/** KQI scores per bucket, with coverage and the KPI scores behind each. */
export async function readKqiSeries(store: Store, model: CxModel, f: KpiFilter, o: ReadOptions) {
  const buckets = await readKpiBuckets(store, f);
  return mapInSlices(buckets, (b) => ({
    start: b.start,
    end: bucketEnd(b, f),
    kqis: scoreBucket(model, b, o.excuseRetroactive).kqis,
  }));
}

/** CSI per bucket with its explanation, and the value-weighted CSI across the model's segments (none under a segment filter). */
export async function readCsiSeries(store: Store, model: CxModel, f: KpiFilter, o: ReadOptions) {
  // The buckets and every segment's buckets (in one read), side by side.
  const [buckets, bySegment] = await Promise.all([
    readKpiBuckets(store, f),
    f.segment === undefined
      ? readKpiBucketsBySegment(store, f, Object.keys(model.segments))
      : Promise.resolve(new Map<string, KpiBucket[]>()),
  ]);
  return mapInSlices(buckets, (b) => ({
    start: b.start,
    end: bucketEnd(b, f),
    ...csiView(scoreBucket(model, b, o.excuseRetroactive)),
    valueWeighted: valueWeightedAt(model, bySegment, b.start, o.excuseRetroactive),
  }));
}
