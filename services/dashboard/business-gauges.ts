import { scoreCsi } from '../model/score.ts';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';
import { kpiValues, mergeBuckets, readKpiBuckets } from '../shared/vitals/buckets.ts';
import { keysWithData } from '../shared/vitals/written.ts';

/**
 * Business gauges for Prometheus (CSI, its coverage, KQIs, Availability, Serviceability,
 * social surge) per (service, region), recomputed from the store every `intervalMs` over
 * the last `windowMinutes` closed minutes. The numbers come from the same reads and the
 * same scoring as the API (`readKpiBuckets`, `kpiValues`, `scoreCsi`), so an alert and
 * the dashboard never disagree about a value.
 *
 * Labels are bounded: the pairs are the ones with data in the window, at most `maxPairs`
 * of them (alphabetical, so the exported set is stable); the rest are counted in
 * cxv_business_gauges_omitted_pairs. A pair without data in the window loses its series,
 * so an alert on it resolves instead of firing forever on a frozen value.
 */

export interface BusinessGaugeOptions {
  store: Store;
  metrics: Metrics;
  model: () => CxModel;
  excuseRetroactive: boolean;
  log: Logger;
  intervalMs?: number;
  windowMinutes?: number;
  maxPairs?: number;
  now?: () => number;
}

export interface GaugePair {
  service: string;
  region: string;
}

export interface GaugeUpdate {
  from: number;
  to: number;
  pairs: number;
  omitted: number;
}

const MINUTE = 60_000;
export const DEFAULT_GAUGE_INTERVAL_MS = 15_000;
export const DEFAULT_GAUGE_WINDOW_MINUTES = 5;
export const DEFAULT_MAX_GAUGE_PAIRS = 64;

const key = (p: GaugePair): string => `${p.service}\u0000${p.region}`;

export class BusinessGauges {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private busy = false;
  private readonly now: () => number;
  /** Label sets exported by the previous update, to remove the ones that lost their data. */
  private exported = new Map<string, { pair: GaugePair; kqis: Set<string> }>();

  constructor(private readonly o: BusinessGaugeOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    const run = () => {
      // A slow store skips runs instead of queueing them.
      if (this.busy) return;
      this.busy = true;
      this.running = this.update()
        .catch((err) => {
          this.o.metrics.businessGaugeFailures.inc();
          this.o.log.error({ err }, 'business gauge update failed; the gauges keep their last values and the next run retries');
        })
        .finally(() => {
          this.busy = false;
        });
    };
    run();
    this.timer = setInterval(run, this.o.intervalMs ?? DEFAULT_GAUGE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** The (service, region) pairs with data in [from, to), alphabetical. */
  private async pairsWithData(from: number, to: number): Promise<GaugePair[]> {
    return keysWithData(this.o.store, { from, to }, { named: true, limit: 100_000 });
  }

  /** Recomputes every gauge; returns what it covered. */
  async update(): Promise<GaugeUpdate> {
    const m = this.o.metrics;
    const to = Math.floor(this.now() / MINUTE) * MINUTE;
    const from = to - (this.o.windowMinutes ?? DEFAULT_GAUGE_WINDOW_MINUTES) * MINUTE;
    const all = await this.pairsWithData(from, to);
    const pairs = all.slice(0, this.o.maxPairs ?? DEFAULT_MAX_GAUGE_PAIRS);
    const model = this.o.model();
    const next = new Map<string, { pair: GaugePair; kqis: Set<string> }>();
    for (const pair of pairs) {
      const buckets = await readKpiBuckets(this.o.store, {
        services: [pair.service],
        region: pair.region,
        segment: undefined,
        from,
        to,
        stepSec: 60,
      });
      const values = kpiValues(mergeBuckets(buckets, from), this.o.excuseRetroactive);
      const score = scoreCsi(model, values);
      const labels = { service: pair.service, region: pair.region };
      setOrRemove(m.csiScore, labels, score.csi);
      setOrRemove(m.csiCoverage, labels, score.csi === null ? null : score.coverage);
      setOrRemove(m.availabilityRatio, labels, values.availability);
      setOrRemove(m.serviceabilityRatio, labels, values.serviceability);
      setOrRemove(m.socialSurge, labels, values.social_surge);
      const kqis = new Set<string>();
      for (const k of score.kqis) {
        setOrRemove(m.kqiScore, { ...labels, kqi: k.kqi }, k.score);
        if (k.score !== null) kqis.add(k.kqi);
      }
      const previous = this.exported.get(key(pair));
      for (const gone of previous?.kqis ?? []) if (!kqis.has(gone)) m.kqiScore.remove({ ...labels, kqi: gone });
      next.set(key(pair), { pair, kqis });
    }
    for (const [k, { pair, kqis }] of this.exported) {
      if (next.has(k)) continue;
      for (const g of [m.csiScore, m.csiCoverage, m.availabilityRatio, m.serviceabilityRatio, m.socialSurge])
        g.remove({ ...pair });
      for (const kqi of kqis) m.kqiScore.remove({ ...pair, kqi });
    }
    this.exported = next;
    m.businessGaugesOmitted.set(all.length - pairs.length);
    m.businessGaugesUpdated.set(this.now() / 1000);
    return { from, to, pairs: pairs.length, omitted: all.length - pairs.length };
  }
}

interface LabelledGauge<L extends string> {
  set(labels: Partial<Record<L, string>>, value: number): void;
  remove(labels: Partial<Record<L, string>>): void;
}

/** A null value (no data for that figure) removes the series rather than exporting a guess. */
function setOrRemove<L extends string>(
  gauge: LabelledGauge<L>,
  labels: Partial<Record<L, string>>,
  value: number | null | undefined,
): void {
  if (value === null || value === undefined || !Number.isFinite(value)) gauge.remove(labels);
  else gauge.set(labels, value);
}
