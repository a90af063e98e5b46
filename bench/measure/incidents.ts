import path from 'node:path';
import { detect } from '../../services/incidents/detect.ts';
import type { Incident } from '../../services/incidents/incidents.ts';
import { Scorer } from '../../services/incidents/score.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings, incidentSettings } from '../../services/incidents/settings.ts';
import type { MinuteCounts } from '../../services/incidents/signals.ts';
import { loadModel } from '../../services/model/load.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import type { InjectedIncident } from '../../services/simulator/simulator.ts';
import { simulateMinutes } from '../lib/simulated-minutes.ts';

/**
 * Incident detection quality (issue 18): the simulator's traffic under a simulated clock —
 * quiet days with the daily contact curve, then hours of its 15-minute cycle (planned
 * maintenance, an outage declared late, an unplanned outage) — scored and grouped by the
 * same pure functions the pipeline runs, against the simulator's ground-truth labels.
 *
 * A label is detected by an incident of its (service, region) that starts between 2 minutes
 * before its onset and 15 minutes after its end (customers react after the network), or
 * that is already open at its onset (two outages close together are one incident: counted
 * as merged, without a delay). Delay = end of the opening minute − onset: the earliest
 * moment the minute that opens it is complete. Precision = incidents matching an outage
 * (unplanned or declared late) / all incidents; an incident matching planned maintenance
 * counts against it, and is reported on its own.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface IncidentQuality {
  quietDays: number;
  outageHours: number;
  byKind: Record<
    string,
    {
      labels: number;
      detected: number;
      merged: number;
      recall: number;
      medianDelayMin: number | null;
      p90DelayMin: number | null;
    }
  >;
  incidents: number;
  truePositives: number;
  precision: number;
  duringPlannedMaintenance: number;
  quietIncidents: number;
  falsePositives: Array<{ service: string; region: string; start: string; trigger: string }>;
  seconds: number;
}

const quantile = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
};

function matches(i: Incident, l: InjectedIncident): boolean {
  return i.service === l.service && i.region === l.region && i.start >= l.onset - 2 * MINUTE && i.start <= l.end + 15 * MINUTE;
}
const openAt = (i: Incident, l: InjectedIncident) =>
  i.service === l.service && i.region === l.region && i.start < l.onset && (i.resolvedAt ?? Number.POSITIVE_INFINITY) > l.onset;

export async function measureIncidentQuality(o: {
  quietDays: number;
  outageHours: number;
  settings?: IncidentSettings;
  seed?: number;
  log: (line: string) => void;
}): Promise<IncidentQuality> {
  const t = performance.now();
  const settings =
    o.settings ??
    (await loadModel('schemas/model/cx-model.v1.yaml', { extraKpis: declaredKpis() })).incidents ??
    DEFAULT_INCIDENT_SETTINGS;
  const day0 = Date.UTC(2026, 10, 23); // a Monday
  const outagesFrom = day0 + o.quietDays * DAY + 8 * HOUR;
  const quiet = await simulateMinutes({ from: day0, to: outagesFrom, seed: o.seed ?? 7, scheduleOutages: false });
  const run = await simulateMinutes({
    from: outagesFrom,
    to: outagesFrom + o.outageHours * HOUR,
    seed: (o.seed ?? 7) + 1,
    scheduleOutages: true,
    into: quiet.series,
  });
  // The last 20 minutes only give customers' reactions time to show: labels and incidents that
  // start in them are left out alike.
  const cutoff = run.to - 20 * MINUTE;
  const labels = run.injected.filter((l) => l.onset < cutoff);
  const incidents: Incident[] = [];
  const scoring = performance.now();
  for (const [key, series] of quiet.series) {
    const [service = '', region = ''] = key.split('/');
    const found = detect(series, day0, run.to, { service, region, settings, excuseRetroactive: false }).incidents;
    incidents.push(...found.filter((i) => i.start < cutoff));
  }
  o.log(
    `   simulated in ${((scoring - t) / 1000).toFixed(1)} s, scored in ${((performance.now() - scoring) / 1000).toFixed(1)} s`,
  );
  const kinds = ['unplanned-outage', 'retroactive-maintenance', 'planned-maintenance'] as const;
  const byKind: IncidentQuality['byKind'] = {};
  for (const kind of kinds) {
    const ofKind = labels.filter((l) => l.kind === kind);
    let detected = 0;
    let merged = 0;
    const delays: number[] = [];
    for (const l of ofKind) {
      const own = incidents.filter((i) => matches(i, l)).sort((a, b) => a.start - b.start)[0];
      if (own) {
        detected += 1;
        delays.push((own.openedAt + MINUTE - l.onset) / MINUTE);
      } else if (incidents.some((i) => openAt(i, l))) {
        detected += 1;
        merged += 1;
      }
    }
    byKind[kind] = {
      labels: ofKind.length,
      detected,
      merged,
      recall: ofKind.length > 0 ? detected / ofKind.length : 0,
      medianDelayMin: quantile(delays, 0.5),
      p90DelayMin: quantile(delays, 0.9),
    };
  }
  const outages = labels.filter((l) => !l.planned);
  const planned = labels.filter((l) => l.planned);
  const isTrue = (i: Incident) => outages.some((l) => matches(i, l) || openAt(i, l));
  const truePositives = incidents.filter(isTrue).length;
  const duringPlanned = incidents.filter((i) => !isTrue(i) && planned.some((l) => matches(i, l))).length;
  const falsePositives = incidents.filter((i) => !isTrue(i));
  const result: IncidentQuality = {
    quietDays: o.quietDays,
    outageHours: o.outageHours,
    byKind,
    incidents: incidents.length,
    truePositives,
    precision: incidents.length > 0 ? truePositives / incidents.length : 1,
    duringPlannedMaintenance: duringPlanned,
    quietIncidents: incidents.filter((i) => i.start < outagesFrom).length,
    falsePositives: falsePositives.map((i) => ({
      service: i.service,
      region: i.region,
      start: new Date(i.start).toISOString(),
      trigger: i.trigger,
    })),
    seconds: (performance.now() - t) / 1000,
  };
  printQuality(result, o.log);
  return result;
}

export function printQuality(q: IncidentQuality, log: (line: string) => void): void {
  log(
    `   ${q.quietDays} quiet day(s) with the daily curve, then ${q.outageHours} h of the simulator's 15-minute cycle; 16 (service, region) keys`,
  );
  log('   kind                      labels  detected  merged  recall  median delay  p90 delay  (minutes from onset)');
  for (const [kind, k] of Object.entries(q.byKind)) {
    if (kind === 'planned-maintenance') continue;
    const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(1));
    log(
      `   ${kind.padEnd(26)}${String(k.labels).padStart(6)}${String(k.detected).padStart(10)}${String(k.merged).padStart(8)}${k.recall.toFixed(3).padStart(8)}${fmt(k.medianDelayMin).padStart(14)}${fmt(k.p90DelayMin).padStart(11)}`,
    );
  }
  log(`   incidents ${q.incidents}, matching an outage ${q.truePositives}: precision ${q.precision.toFixed(3)}`);
  log(
    `   planned maintenance windows: ${q.byKind['planned-maintenance']?.labels ?? 0}, incidents of their own (during or after them, matching no outage): ${q.duringPlannedMaintenance} (target 0)`,
  );
  log(`   incidents on the quiet days: ${q.quietIncidents}`);
  for (const f of q.falsePositives.slice(0, 10)) log(`   not an outage: ${f.service}/${f.region} from ${f.start} (${f.trigger})`);
  log(`   ${q.seconds.toFixed(1)} s`);
}

export const comcastFile = (): string =>
  path.resolve(
    process.env.CXV_REAL_DATA_DIR?.trim() || path.resolve(import.meta.dirname, '../../../shared/data/real'),
    'comcast-complaints-2015.csv',
  );

if (import.meta.url === `file://${process.argv[1]}`) {
  const quietDays = Number(process.env.QUIET_DAYS ?? 1);
  const outageHours = Number(process.env.OUTAGE_HOURS ?? 6);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  await measureIncidentQuality({ quietDays, outageHours, log });
  await measureComcast(comcastFile(), log);
}

/**
 * The Comcast complaints file (2015, one row per complaint): daily complaint volume judged as
 * the contact-volume signal, one day per slot, against the robust baseline of the 28 days
 * before (the file has no minutes and too few weeks for a same-weekday baseline). It has one
 * signal, so it can flag days but never open an incident on its own (two customer signals or
 * a network signal are needed): the report lists the flagged days with their reason beside the
 * file's own ten busiest days.
 */
export async function measureComcast(
  file: string,
  log: (line: string) => void,
): Promise<{ flagged: string[]; peaks: string[] } | undefined> {
  const { existsSync, readFileSync } = await import('node:fs');
  if (!existsSync(file)) {
    log(`   ${file} is absent (not shipped; set CXV_REAL_DATA_DIR): Comcast check skipped`);
    return undefined;
  }
  const { parse } = await import('csv-parse/sync');
  const rows = parse(readFileSync(file), { columns: true, bom: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  const perDay = new Map<string, number>();
  for (const r of rows) {
    const [dd, mm, yy] = (r.Date ?? '').split('-');
    if (!dd || !mm || !yy) continue;
    const day = `20${yy}-${mm}-${dd}`;
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  const days = [...perDay.keys()].sort();
  const first = Date.parse(`${days[0]}T00:00:00Z`);
  const last = Date.parse(`${days.at(-1)}T00:00:00Z`);
  // Day d of the file is "minute" d of a synthetic series. Only days with complaints are in it:
  // the file's dates outside 2015-04-13…06-30 are scattered days 1-12 of other months (day and
  // month look swapped at the source), so a day without a row is "no data", not 0 complaints.
  const DAY = 86_400_000;
  const series = new Map<number, MinuteCounts>();
  const dayAt = (slot: number) => new Date(first + slot * DAY).toISOString().slice(0, 10);
  for (let slot = 0; first + slot * DAY <= last; slot += 1) {
    const n = perDay.get(dayAt(slot));
    if (n === undefined) continue;
    series.set(slot * MINUTE, {
      probe: null,
      contact: { offered: n, abandoned: 0, answered: n, answeredWaitSecSum: 0 },
      survey: null,
      social: null,
    });
  }
  const settings = incidentSettings({
    baseline: { seasonalWeeks: 0, recentMinutes: 28, minRecentSamples: 14 },
    signals: { contact_volume: { windowMinutes: 1, threshold: 4, minSpread: 5 } },
  });
  const scorer = new Scorer(series, settings);
  const flagged: string[] = [];
  let judged = 0;
  for (const slot of series.keys()) {
    const x = scorer.scoreSignal('contact_volume', slot);
    if (x.score !== null) judged += 1;
    if (x.anomalous)
      flagged.push(
        `${dayAt(slot / MINUTE)}: ${x.value} complaints against ${x.baseline} (days with data among the 28 before), spread ${x.spread?.toFixed(1)}, ${x.score?.toFixed(1)} spreads above`,
      );
  }
  const peaks = [...perDay.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([d, n]) => `${d} ${n}`);
  log(`   Comcast complaints 2015: ${rows.length} complaints over ${days.length} days (${days[0]} … ${days.at(-1)})`);
  log(`   the file's 10 busiest days: ${peaks.join(', ')}`);
  log(`   days judged (14 or more days with data among the 28 before): ${judged}`);
  log(`   days flagged (contact volume vs the median and MAD of the 28 days before, threshold 4, spread ≥ 5): ${flagged.length}`);
  for (const f of flagged) log(`     ${f}`);
  log('   one signal only: these are anomalous days, not incidents (an incident needs a network signal or two customer signals)');
  return { flagged, peaks };
}
