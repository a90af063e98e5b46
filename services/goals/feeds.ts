import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { DEFAULT_MODEL_PATH } from '../model/load.ts';
import { parseModel } from '../model/model.ts';
import type { CxModel } from '../model/types.ts';
import { KPI_CATALOG } from '../shared/kpi/catalog.ts';
import { origin } from '../shared/sources/common.ts';
import { declaredKpis } from '../shared/sources/registry.ts';
import type { Store } from '../shared/store/store.ts';
import { type KpiBucket, kpiValues, readKpiBucketsAt, readKpiBucketsBySegment, readKpiRange } from '../shared/vitals/buckets.ts';
import type { Bucketing } from '../shared/vitals/filter.ts';
import { kpiFilterOf } from '../shared/vitals/reads.ts';
import { isEventShare, ratioParts, scoreBucket, valueWeightedAt } from '../shared/vitals/scores.ts';
import type { MetricPoint } from './evaluate.ts';

/**
 * The metric feeds a success metric can be bound to, read through the read model
 * (services/shared/vitals/) that serves /api/v1/kpis, /kqis, /csi and /availability, so a
 * goal's value for a window is the API's value for that range:
 *
 * | kind             | name                                         | value                                  |
 * | ---------------- | -------------------------------------------- | -------------------------------------- |
 * | `kpi`            | any KPI id of the catalog or a declared source | the KPI over the range (ratio KPIs: Σ counts) |
 * | `kqi`            | a KQI of the model                           | its score over the range (0–100)       |
 * | `csi`            | none (or `csi`): plain; `value_weighted`     | the CSI over the range (0–100)         |
 * | `availability`   | none                                         | = `kpi` `availability`                 |
 * | `serviceability` | none                                         | = `kpi` `serviceability`               |
 *
 * Filters: service, region, segment, product (its services in the catalog), origin (who
 * supplied the data: "partner-reported availability", "employee survey NPS"). Availability
 * and Serviceability have no segment (probe results carry none) and the value-weighted
 * CSI is a mix of every segment: a segment filter on them is refused (FILTER_NOT_SUPPORTED).
 *
 * The feed says what the number is, never whether more is better: the direction belongs
 * to the goal (its comparator and target).
 */

export type FeedKind = 'kpi' | 'kqi' | 'csi' | 'availability' | 'serviceability';
export const feedKinds = ['kpi', 'kqi', 'csi', 'availability', 'serviceability'] as const;

export interface FeedFilters {
  service?: string | undefined;
  region?: string | undefined;
  segment?: string | undefined;
  product?: string | undefined;
  /** Who supplied the data: customer, network, partner, manager, employee (every origin when absent). */
  origin?: Origin | undefined;
}

export type Origin = z.infer<typeof origin>;

export interface FeedRef {
  kind: FeedKind;
  /** Which KPI / KQI (e.g. `asa_sec`, `care_responsiveness`); for `csi`, `value_weighted` or none. */
  name?: string | undefined;
  filters: FeedFilters;
}

export interface FeedReadOptions {
  /** Bucket size of `points` (default: one bucket per minute, at most 2000 buckets). */
  stepMs?: number;
}

export type FeedProblemCode = 'UNKNOWN_FEED' | 'FILTER_NOT_SUPPORTED' | 'UNKNOWN_PRODUCT';

export interface FeedProblem {
  code: FeedProblemCode;
  message: string;
  /** The field of the feed at fault: `name`, `filters.segment`, `filters.product`. */
  field: string;
  /** What would be accepted there. */
  valid: string[];
}

export type FeedValidation = { ok: true } | ({ ok: false } & FeedProblem);

export interface FeedReading {
  /**
   * A share of events (Availability, abandonment rate…): points carry numerator and
   * denominator and a window's value is Σnumerator / Σdenominator, so it has an error
   * budget. Other feeds (scores, means, percentiles) have ratio = false.
   */
  ratio: boolean;
  /** The value over the whole range read, as the API gives it for that range. */
  value: number | null;
  numerator?: number;
  denominator?: number;
  /** Buckets [t, t + stepMs) in time order; only buckets with data. */
  points: MetricPoint[];
  stepMs: number;
  /** Set when the feed cannot answer as bound (a goal stored before its feed was checked). */
  noData?: { code: FeedProblemCode; message: string };
}

export interface MetricFeedReader {
  /** Whether a feed can be read as given; a refusal names the field and what is valid there. */
  validate(feed: FeedRef): FeedValidation;
  read(feed: FeedRef, from: number, to: number, options?: FeedReadOptions): Promise<FeedReading>;
}

const MINUTE = 60_000;
const MAX_POINTS = 2000;

// Bucket sizes that line up with clock time, so a trend's points fall on round hours.
const NICE_STEPS_MIN = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10_080];

/** The smallest round bucket size giving at most MAX_POINTS buckets over [from, to). */
export function defaultStep(from: number, to: number): number {
  const minutes = Math.max(1, Math.ceil((to - from) / MINUTE / MAX_POINTS));
  return (NICE_STEPS_MIN.find((m) => m >= minutes) ?? minutes) * MINUTE;
}

export function describeFeed(feed: FeedRef): string {
  const filters = Object.entries(feed.filters)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${feed.kind}${feed.name ? `:${feed.name}` : ''}${filters ? `{${filters}}` : ''}`;
}

/** CSI feed names: the plain CSI (no name, or `csi`) and the value-weighted one. */
export const CSI_FEEDS = ['csi', 'value_weighted'] as const;
/** KPIs read from probe results, which carry no segment. */
const WITHOUT_SEGMENT = new Set(['availability', 'serviceability', 'test_success_rate']);

/** The KPI a feed reads, for the kinds that read one KPI. */
const kpiOf = (feed: FeedRef): string | undefined =>
  feed.kind === 'kpi' ? feed.name : feed.kind === 'availability' || feed.kind === 'serviceability' ? feed.kind : undefined;

/** Every KPI a feed may name: the built-in catalog's and the declared sources'. */
export const kpiIds = (): string[] => [...Object.keys(KPI_CATALOG), ...declaredKpis().map((k) => k.id)];

/** Checks a feed against the KPI catalog, the model's KQIs and service catalog, and the filters each kind has. */
export function validateFeed(model: CxModel, feed: FeedRef): FeedValidation {
  const refuse = (code: FeedProblemCode, field: string, message: string, valid: string[]): FeedValidation => ({
    ok: false,
    code,
    field,
    message,
    valid,
  });
  switch (feed.kind) {
    case 'kpi': {
      const valid = kpiIds();
      if (!feed.name || !valid.includes(feed.name))
        return refuse(
          'UNKNOWN_FEED',
          'name',
          `${feed.name ? `No KPI "${feed.name}"` : 'A kpi feed needs a name'}; name one of the KPI catalog or a declared source's KPIs: ${valid.join(', ')}.`,
          valid,
        );
      break;
    }
    case 'kqi': {
      const valid = model.kqis.map((k) => k.name);
      if (!feed.name || !valid.includes(feed.name))
        return refuse(
          'UNKNOWN_FEED',
          'name',
          `${feed.name ? `No KQI "${feed.name}" in the model` : 'A kqi feed needs a name'}; name one of: ${valid.join(', ')}.`,
          valid,
        );
      break;
    }
    case 'csi': {
      if (feed.name !== undefined && !(CSI_FEEDS as readonly string[]).includes(feed.name))
        return refuse(
          'UNKNOWN_FEED',
          'name',
          `No CSI feed "${feed.name}"; leave the name out (or "csi") for the CSI, or use "value_weighted" for the value-weighted CSI.`,
          [...CSI_FEEDS],
        );
      break;
    }
    case 'availability':
    case 'serviceability': {
      if (feed.name !== undefined && feed.name !== feed.kind)
        return refuse('UNKNOWN_FEED', 'name', `The ${feed.kind} feed takes no name ("${feed.name}" given); leave it out.`, []);
      break;
    }
  }
  const kpi = kpiOf(feed);
  if (feed.filters.segment && ((kpi && WITHOUT_SEGMENT.has(kpi)) || (feed.kind === 'csi' && feed.name === 'value_weighted'))) {
    const what = kpi ?? 'the value-weighted CSI';
    const why =
      kpi !== undefined
        ? 'is measured from probe results, which carry no customer segment'
        : 'is the mix of every segment by customer value';
    return refuse(
      'FILTER_NOT_SUPPORTED',
      'filters.segment',
      `${what} ${why}: the segment filter cannot be applied. Its filters are service, region, product, origin; remove segment, or bind the goal to a KQI, the CSI or a contact/survey KPI of that segment.`,
      ['service', 'region', 'product', 'origin'],
    );
  }
  if (feed.filters.origin !== undefined && !(origin.options as readonly string[]).includes(feed.filters.origin)) {
    return refuse(
      'FILTER_NOT_SUPPORTED',
      'filters.origin',
      `No origin "${feed.filters.origin}"; data comes from one of: ${origin.options.join(', ')}.`,
      [...origin.options],
    );
  }
  if (feed.filters.product) {
    const products = model.catalog.products.map((p) => p.name);
    if (!products.includes(feed.filters.product))
      return refuse(
        'UNKNOWN_PRODUCT',
        'filters.product',
        `No product "${feed.filters.product}" in the service catalog; valid products: ${products.join(', ') || 'none'}.`,
        products,
      );
  }
  return { ok: true };
}

/** The model file the API uses by default, for a reader built without the application's model. */
function defaultModel(): CxModel {
  const parsed = parseModel(readFileSync(DEFAULT_MODEL_PATH, 'utf8'), { extraKpis: declaredKpis() });
  if (!parsed.ok)
    throw new Error(`${DEFAULT_MODEL_PATH} is not a valid CX model: ${parsed.issues.map((i) => i.message).join('; ')}`);
  return parsed.model;
}

interface Valued {
  value: number | null;
  numerator?: number;
  denominator?: number;
}

/** Reads every feed kind through the read model. */
export class VitalsFeedReader implements MetricFeedReader {
  private readonly model: () => CxModel;
  private readonly excuseRetroactive: boolean;

  constructor(
    private readonly store: Store,
    options: { excuseRetroactive: boolean; model?: (() => CxModel) | undefined },
  ) {
    this.excuseRetroactive = options.excuseRetroactive;
    let loaded: CxModel | undefined;
    this.model =
      options.model ??
      (() => {
        loaded ??= defaultModel();
        return loaded;
      });
  }

  validate(feed: FeedRef): FeedValidation {
    return validateFeed(this.model(), feed);
  }

  async read(feed: FeedRef, from: number, to: number, options: FeedReadOptions = {}): Promise<FeedReading> {
    const stepMs = options.stepMs ?? defaultStep(from, to);
    const model = this.model();
    const kpi = kpiOf(feed);
    const ratio = kpi !== undefined && isEventShare(kpi);
    const checked = validateFeed(model, feed);
    if (!checked.ok) return { ratio, value: null, points: [], stepMs, noData: { code: checked.code, message: checked.message } };
    if (to <= from) return { ratio, value: null, points: [], stepMs };
    const resolved = kpiFilterOf(model, feed.filters, { from, to, stepSec: stepMs / 1000 });
    if (!resolved.ok)
      return { ratio, value: null, points: [], stepMs, noData: { code: resolved.error.code, message: resolved.error.message } };
    const f = resolved.filter;
    const measure = this.valuer(model, feed, kpi);
    const epoch: Bucketing = { stepMs, originMs: 0 };
    const whole: Bucketing = { stepMs: Math.ceil(to) - Math.floor(from), originMs: Math.floor(from) };

    let range: Valued;
    let points: MetricPoint[];
    if (feed.kind === 'csi' && feed.name === 'value_weighted') {
      const segments = Object.keys(model.segments);
      const [overRange, perStep] = await Promise.all([
        readKpiBucketsBySegment(this.store, f, segments, whole),
        readKpiBucketsBySegment(this.store, f, segments, epoch),
      ]);
      const score = (bySegment: Map<string, KpiBucket[]>, start: number) =>
        valueWeightedAt(model, bySegment, start, this.excuseRetroactive)?.csi ?? null;
      range = { value: score(overRange, whole.originMs) };
      const starts = [...new Set([...perStep.values()].flatMap((list) => list.map((b) => b.start)))].sort((a, b) => a - b);
      points = starts.map((t) => ({ t, value: score(perStep, t) }));
    } else {
      const [overRange, perStep] = await Promise.all([readKpiRange(this.store, f), readKpiBucketsAt(this.store, f, epoch)]);
      range = overRange ? measure(overRange) : { value: null };
      points = perStep.map((b) => ({ t: b.start, ...measure(b) }));
    }
    points = points.filter((p) => p.value !== null);
    return { ratio, ...range, points, stepMs };
  }

  /** The value (and for event shares the counts) a feed takes from one bucket. */
  private valuer(model: CxModel, feed: FeedRef, kpi: string | undefined): (b: KpiBucket) => Valued {
    const excuse = this.excuseRetroactive;
    if (kpi !== undefined) {
      return (b) => {
        const value = kpiValues(b, excuse)[kpi] ?? null;
        const parts = ratioParts(b, kpi, excuse);
        return parts && value !== null ? { value, ...parts } : { value };
      };
    }
    if (feed.kind === 'kqi')
      return (b) => ({ value: scoreBucket(model, b, excuse).kqis.find((k) => k.kqi === feed.name)?.score ?? null });
    return (b) => ({ value: scoreBucket(model, b, excuse).csi });
  }
}

/** The goals service's feed reader over the store (the application passes its model, as the API's). */
export function createMetricFeedReader(options: {
  store: Store;
  excuseRetroactive: boolean;
  model?: (() => CxModel) | undefined;
}): MetricFeedReader {
  return new VitalsFeedReader(options.store, options);
}
