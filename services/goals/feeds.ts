import type { Store } from '../shared/store/store.ts';
import type { MetricPoint } from './evaluate.ts';

/**
 * The metric feeds a success metric can be bound to, behind one small port. Availability
 * and Serviceability are read from the per-minute probe counts now; KPIs, KQIs and CSI
 * arrive from another part of the pipeline later and plug in as readers of their own
 * (`createMetricFeedReader({ ..., readers: { kqi } })`) without any change to the goals
 * logic. Until then they answer `no_data` with the code FEED_NOT_AVAILABLE.
 */

export type FeedKind = 'kpi' | 'kqi' | 'csi' | 'availability' | 'serviceability';
export const feedKinds = ['kpi', 'kqi', 'csi', 'availability', 'serviceability'] as const;

export interface FeedFilters {
  service?: string | undefined;
  region?: string | undefined;
  segment?: string | undefined;
  product?: string | undefined;
}

export interface FeedRef {
  kind: FeedKind;
  /** Which KPI / KQI / CSI (e.g. `asa`, `care_responsiveness`); unused for availability. */
  name?: string | undefined;
  filters: FeedFilters;
}

export interface FeedReadOptions {
  /** Bucket size of `points` (default: one bucket per minute, at most 2000 buckets). */
  stepMs?: number;
}

export interface FeedReading {
  /** A ratio metric: value and points carry numerator and denominator. */
  ratio: boolean;
  value: number | null;
  numerator?: number;
  denominator?: number;
  /** Buckets [t, t + stepMs) in time order; only buckets with data. */
  points: MetricPoint[];
  stepMs: number;
  /** Set when the feed could not answer (no value is then a fact about the feed, not the data). */
  noData?: { code: 'FEED_NOT_AVAILABLE' | 'FILTER_NOT_SUPPORTED'; message: string };
}

export interface MetricFeedReader {
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

function sumPoints(points: MetricPoint[]): { numerator: number; denominator: number } {
  let numerator = 0;
  let denominator = 0;
  for (const p of points) {
    numerator += p.numerator ?? 0;
    denominator += p.denominator ?? 0;
  }
  return { numerator, denominator };
}

interface BucketRow {
  bucket: string;
  attempts: string;
  successes: string;
  excused_attempts: string;
  excused_successes: string;
}

/**
 * Availability and Serviceability over `probe_kpi_1m` (the same counts and formulas as
 * services/shared/kpi/availability.ts): each bucket is a sum of per-minute counts, and the
 * range value is the ratio of the summed counts.
 */
export class ProbeFeedReader implements MetricFeedReader {
  constructor(
    private readonly store: Store,
    private readonly options: { excuseRetroactive: boolean },
  ) {}

  async read(feed: FeedRef, from: number, to: number, options: FeedReadOptions = {}): Promise<FeedReading> {
    const stepMs = options.stepMs ?? defaultStep(from, to);
    if (feed.kind !== 'availability' && feed.kind !== 'serviceability') {
      return notAvailable(feed, stepMs);
    }
    for (const dimension of ['segment', 'product'] as const) {
      if (feed.filters[dimension]) {
        return {
          ratio: true,
          value: null,
          points: [],
          stepMs,
          noData: {
            code: 'FILTER_NOT_SUPPORTED',
            message: `${feed.kind} is measured per service and region only; the ${dimension} filter cannot be applied. Remove it or bind the goal to a KQI/CSI feed.`,
          },
        };
      }
    }
    if (to <= from) return { ratio: true, value: null, points: [], stepMs };
    // Availability leaves out results inside excused maintenance (planned, and retroactive when configured).
    const excused = this.options.excuseRetroactive ? 'planned_attempts + retro_attempts' : 'planned_attempts';
    const excusedSuccesses = this.options.excuseRetroactive ? 'planned_successes + retro_successes' : 'planned_successes';
    const rows = await this.store.query<BucketRow>(
      `SELECT intDiv(toUnixTimestamp64Milli(window_start), {stepMs:Int64}) * {stepMs:Int64} AS bucket,
              sum(attempts) AS attempts, sum(successes) AS successes,
              sum(${excused}) AS excused_attempts, sum(${excusedSuccesses}) AS excused_successes
       FROM ${this.store.table('probe_kpi_1m')} FINAL
       WHERE ({anyService:UInt8} = 1 OR service = {service:String})
         AND ({anyRegion:UInt8} = 1 OR region = {region:String})
         AND window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})
       GROUP BY bucket ORDER BY bucket`,
      {
        stepMs,
        service: feed.filters.service ?? '',
        anyService: feed.filters.service ? 0 : 1,
        region: feed.filters.region ?? '',
        anyRegion: feed.filters.region ? 0 : 1,
        from: Math.floor(from),
        to: Math.ceil(to),
      },
    );
    const points: MetricPoint[] = [];
    for (const r of rows) {
      const attempts = Number(r.attempts);
      const successes = Number(r.successes);
      const numerator = feed.kind === 'availability' ? successes - Number(r.excused_successes) : successes;
      const denominator = feed.kind === 'availability' ? attempts - Number(r.excused_attempts) : attempts;
      // A bucket wholly inside excused maintenance has no Availability: it is not a point.
      if (denominator <= 0) continue;
      points.push({ t: Number(r.bucket), value: numerator / denominator, numerator, denominator });
    }
    const sums = sumPoints(points);
    return sums.denominator > 0
      ? { ratio: true, value: sums.numerator / sums.denominator, ...sums, points, stepMs }
      : { ratio: true, value: null, points: [], stepMs };
  }
}

function notAvailable(feed: FeedRef, stepMs: number): FeedReading {
  return {
    ratio: false,
    value: null,
    points: [],
    stepMs,
    noData: {
      code: 'FEED_NOT_AVAILABLE',
      message: `The ${feed.kind.toUpperCase()} feed${feed.name ? ` "${feed.name}"` : ''} is not available in this release yet; the goal is evaluated as no_data until it lands.`,
    },
  };
}

/** A reader for feeds that do not exist yet: always `no_data` with FEED_NOT_AVAILABLE. */
export const notYetAvailableReader: MetricFeedReader = {
  read: async (feed, from, to, options = {}) => notAvailable(feed, options.stepMs ?? defaultStep(from, to)),
};

/** Routes each feed kind to its reader; KPI, KQI and CSI readers are supplied as they land. */
export function createMetricFeedReader(options: {
  store: Store;
  excuseRetroactive: boolean;
  readers?: Partial<Record<FeedKind, MetricFeedReader>>;
}): MetricFeedReader {
  const probe = new ProbeFeedReader(options.store, { excuseRetroactive: options.excuseRetroactive });
  const readers: Record<FeedKind, MetricFeedReader> = {
    availability: probe,
    serviceability: probe,
    kpi: notYetAvailableReader,
    kqi: notYetAvailableReader,
    csi: notYetAvailableReader,
    ...options.readers,
  };
  return { read: (feed, from, to, readOptions) => readers[feed.kind].read(feed, from, to, readOptions) };
}
