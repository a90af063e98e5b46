import { Gauge, type Registry } from 'prom-client';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import { Periodic } from '../shared/periodic.ts';
import { readMaintenanceWindows } from '../shared/store/maintenance.ts';
import type { Store } from '../shared/store/store.ts';
import { type KpiBucket, readKpiBucketsByKey } from '../shared/vitals/buckets.ts';
import { kpiKeyId, type ServiceRegion } from '../shared/vitals/filter.ts';
import { Slices } from '../shared/vitals/slices.ts';
import { keysWithData } from '../shared/vitals/written.ts';
import { scoreMinutesInSlices, signalKinds } from './detect.ts';
import { deriveIncidents, type MinuteEvidence } from './incidents.ts';
import { anomalyRows, incidentRow, readIncidents, type StoredIncident } from './repository.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from './settings.ts';
import type { MinuteCounts } from './signals.ts';

/**
 * The I/O shell of the incident detector, run beside the CSI materializer: every
 * `intervalMs` it reads the closed minutes of every (service, region) through the read
 * model (services/shared/vitals), scores them (score.ts), derives the incidents
 * (incidents.ts), and stores both (anomaly_1m, incidents), exports cxv_incidents_open and
 * tells the live stream what changed.
 *
 * Restart-safe and exactly-once in effect: nothing is kept that the store does not have.
 * Each tick derives incidents again from the stored minutes, starting at the earliest start
 * of any incident still active in the replay window (or the window's start), so the same
 * minutes give the same incidents with the same ids (a hash of service, region, start), and
 * rows replace their own (ReplacingMergeTree by id and version). An open incident that the
 * recomputation no longer finds (late data moved its start) is stored as withdrawn.
 */

export interface IncidentJobOptions {
  store: Store;
  log: Logger;
  model: () => CxModel;
  excuseRetroactive: boolean;
  registry?: Registry;
  /** Called with every incident whose row changed (live stream). */
  onChange?: (incident: StoredIncident) => void;
  intervalMs?: number;
  /** A minute is scored once this long has passed since its end (windows close after the watermark). */
  closeDelayMs?: number;
  /** Minutes recomputed every tick (at least: more when an incident active in them started earlier). */
  replayMinutes?: number;
  now?: () => number;
}

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
const KEYS_PER_READ = 500;

export function minuteCountsOf(b: KpiBucket): MinuteCounts {
  const a = b.accumulators;
  return {
    probe: a.probe ? { ...a.probe.availability } : null,
    contact: a.contact
      ? {
          offered: a.contact.answered + a.contact.abandoned,
          abandoned: a.contact.abandoned,
          answered: a.contact.answered,
          answeredWaitSecSum: a.contact.answeredWaitSecSum,
        }
      : null,
    survey: a.survey
      ? {
          npsResponses: a.survey.npsResponses,
          npsPromoters: a.survey.npsPromoters,
          npsDetractors: a.survey.npsDetractors,
          csatResponses: a.survey.csatResponses,
          csatSatisfied: a.survey.csatSatisfied,
        }
      : null,
    social: a.social ? { mentions: a.social.mentions, negativeMentions: a.social.negativeMentions } : null,
  };
}

export interface TickResult {
  from: number;
  to: number;
  keys: number;
  anomalyRows: number;
  written: StoredIncident[];
  open: number;
}

export class IncidentJob {
  private readonly periodic = new Periodic(
    () => this.tick(),
    (err) => this.o.log.error({ err }, 'incident job failed; will retry'),
  );
  private readonly now: () => number;
  /** Last row written per incident id (its JSON), so unchanged incidents are not rewritten. */
  private readonly written = new Map<string, string>();
  /** Minutes before this were scored and stored by an earlier tick of this process. */
  private scoredUntil: number | undefined;
  private readonly openGauge: Gauge<'service' | 'region' | 'incident_id'> | undefined;
  /** Scored minutes per key (kpiKeyId) since the replay's start: each minute is scored once per process. */
  private readonly evidence = new Map<string, Map<number, MinuteEvidence>>();
  /** Week shifts found without any data, and until when that answer is trusted. */
  private readonly emptyWeeks = new Map<number, number>();

  constructor(private readonly o: IncidentJobOptions) {
    this.now = o.now ?? Date.now;
    this.openGauge = o.registry
      ? (() => {
          const existing = o.registry.getSingleMetric('cxv_incidents_open');
          if (existing) return existing as Gauge<'service' | 'region' | 'incident_id'>;
          return new Gauge({
            name: 'cxv_incidents_open',
            help: 'Open incidents (early warning across signals): 1 per incident, labelled with its service, region and id',
            labelNames: ['service', 'region', 'incident_id'],
            registers: [o.registry],
          });
        })()
      : undefined;
  }

  private settings(): IncidentSettings {
    return this.o.model().incidents ?? DEFAULT_INCIDENT_SETTINGS;
  }

  start(): void {
    this.periodic.start(this.o.intervalMs ?? 15_000);
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** Scores the closed minutes and derives the incidents again; stores what changed. */
  async tick(): Promise<TickResult> {
    const settings = this.settings();
    const computedAt = this.now();
    const to = Math.floor((computedAt - (this.o.closeDelayMs ?? 90_000)) / MINUTE) * MINUTE;
    const windowFrom = to - (this.o.replayMinutes ?? 120) * MINUTE;
    // Incidents active in the window start the replay at their start, so they are derived whole.
    const active = await readIncidents(this.o.store, { from: windowFrom, to, limit: 10_000 });
    const from = Math.min(windowFrom, ...active.map((i) => i.start));
    const keys = await keysWithData(this.o.store, { from, to }, { named: true });
    const history = settings.baseline.recentMinutes + Math.max(...Object.values(settings.signals).map((s) => s.windowMinutes));
    const scoreFrom = this.scoredUntil === undefined ? from : Math.max(from, this.scoredUntil - 5 * MINUTE);

    let rows = 0;
    const written: StoredIncident[] = [];
    const open: StoredIncident[] = [];
    const found = new Set<string>();
    const anomalies: Record<string, unknown>[] = [];
    // Keys whose minutes before scoreFrom this process already scored are scored from there on
    // only; the others (all of them after a restart) from `from`. Same minutes, same scores.
    const covered = (id: string) => {
      const known = this.evidence.get(id);
      if (!known) return false;
      for (let m = from; m < scoreFrom; m += MINUTE) if (!known.has(m)) return false;
      return true;
    };
    const groups = [
      { keys: keys.filter((k) => covered(kpiKeyId(k.service, k.region))), computeFrom: scoreFrom },
      { keys: keys.filter((k) => !covered(kpiKeyId(k.service, k.region))), computeFrom: from },
    ];
    const slices = new Slices();
    for (const group of groups) {
      for (let i = 0; i < group.keys.length; i += KEYS_PER_READ) {
        const chunk = group.keys.slice(i, i + KEYS_PER_READ);
        const series = await this.readSeries(chunk, group.computeFrom - history * MINUTE, to, settings);
        for (const key of chunk) {
          const id = kpiKeyId(key.service, key.region);
          const ofKey = series.get(id) ?? new Map();
          const ids = await this.maintenanceIds(key, ofKey, group.computeFrom, to);
          const fresh = await scoreMinutesInSlices(
            ofKey,
            group.computeFrom,
            to,
            { ...key, settings, excuseRetroactive: this.o.excuseRetroactive, maintenanceIds: ids },
            slices,
          );
          const known = this.evidence.get(id) ?? new Map<number, MinuteEvidence>();
          for (const m of fresh) known.set(m.minute, m);
          for (const m of known.keys()) if (m < from) known.delete(m);
          this.evidence.set(id, known);
          // Minutes without data are scored (the machine needs every minute) but not stored.
          for (const m of fresh)
            if (m.minute >= scoreFrom && ofKey.has(m.minute))
              anomalies.push(...anomalyRows(key.service, key.region, m, computedAt));
          const minutes = [...known.values()].filter((m) => m.minute < to).sort((a, b) => a.minute - b.minute);
          for (const incident of deriveIncidents({ ...key, settings, kinds: signalKinds(this.o.excuseRetroactive) }, minutes)) {
            found.add(incident.id);
            if (incident.status === 'open') open.push(incident);
            if (this.changed(incident)) written.push(incident);
          }
        }
      }
    }
    if (anomalies.length > 0) await this.o.store.insert('anomaly_1m', anomalies);
    rows = anomalies.length;
    // Open incidents of this range that the minutes no longer give are withdrawn.
    for (const stale of active)
      if (stale.status === 'open' && stale.start >= from && !found.has(stale.id)) {
        const withdrawn: StoredIncident = { ...stale, status: 'withdrawn', version: to };
        if (this.changed(withdrawn)) written.push(withdrawn);
      }
    if (written.length > 0)
      await this.o.store.insert(
        'incidents',
        written.map((x) => incidentRow(x, computedAt)),
      );
    this.scoredUntil = to;
    this.exportOpen(open);
    for (const w of written) this.o.onChange?.(w);
    return { from, to, keys: keys.length, anomalyRows: rows, written, open: open.length };
  }

  private changed(i: StoredIncident): boolean {
    const { version: _version, ...content } = i;
    const json = JSON.stringify(content);
    if (this.written.get(i.id) === json) return false;
    this.written.set(i.id, json);
    return true;
  }

  /** Minute series per key: [from, to) and, for the seasonal baseline, the same range 1…N weeks back. */
  private async readSeries(keys: ServiceRegion[], from: number, to: number, settings: IncidentSettings) {
    const out = new Map<string, Map<number, MinuteCounts>>();
    for (let week = 0; week <= settings.baseline.seasonalWeeks; week += 1) {
      const shift = week * WEEK;
      // A fresh install has no history weeks back: one cheap look instead of a full read, every 10 minutes.
      if (week > 0 && (this.emptyWeeks.get(week) ?? 0) > this.now()) continue;
      if (week > 0) {
        const any = await keysWithData(this.o.store, { from: from - shift, to: to - shift }, { limit: 1 });
        if (any.length === 0) {
          this.emptyWeeks.set(week, this.now() + 10 * MINUTE);
          continue;
        }
      }
      // The seasonal values are judged minute by minute, each over its own window before it.
      const byKey = await readKpiBucketsByKey(this.o.store, { keys, from: from - shift, to: to - shift, stepSec: 60 });
      for (const [id, buckets] of byKey) {
        const ofKey = out.get(id) ?? new Map<number, MinuteCounts>();
        for (const b of buckets) ofKey.set(b.start, minuteCountsOf(b));
        out.set(id, ofKey);
      }
    }
    return out;
  }

  /** The ids of maintenance declared for the key, for the minutes whose probe counts show maintenance in force. */
  private async maintenanceIds(key: ServiceRegion, series: Map<number, MinuteCounts>, from: number, to: number) {
    const covered = [...series.entries()].filter(
      ([m, c]) => m >= from && m < to && ((c.probe?.plannedAttempts ?? 0) > 0 || (c.probe?.retroAttempts ?? 0) > 0),
    );
    if (covered.length === 0) return undefined;
    const windows = await readMaintenanceWindows(this.o.store, {
      service: key.service,
      region: key.region,
      fromMs: from,
      toMs: to,
    });
    return (minute: number) => windows.filter((w) => w.startMs < minute + MINUTE && w.endMs > minute).map((w) => w.maintenanceId);
  }

  private exportOpen(open: readonly StoredIncident[]): void {
    if (!this.openGauge) return;
    this.openGauge.reset();
    for (const i of open) this.openGauge.set({ service: i.service, region: i.region, incident_id: i.id }, 1);
  }
}
