import { detect } from '../../services/incidents/detect.ts';
import type { Incident } from '../../services/incidents/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from '../../services/incidents/settings.ts';
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
    `   incidents during or after planned maintenance: ${q.duringPlannedMaintenance}; incidents on the quiet days: ${q.quietIncidents}`,
  );
  for (const f of q.falsePositives.slice(0, 10)) log(`   not an outage: ${f.service}/${f.region} from ${f.start} (${f.trigger})`);
  log(`   ${q.seconds.toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quietDays = Number(process.env.QUIET_DAYS ?? 1);
  const outageHours = Number(process.env.OUTAGE_HOURS ?? 6);
  await measureIncidentQuality({ quietDays, outageHours, log: (line) => process.stdout.write(`${line}\n`) });
}
