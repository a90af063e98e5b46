import type { Slices } from '../shared/vitals/slices.ts';
import { deriveIncidents, type Incident, type MinuteEvidence } from './incidents.ts';
import { Scorer } from './score.ts';
import { type IncidentSettings, SIGNAL_IDS } from './settings.ts';
import { type MinuteSeries, maintenanceOf, type SignalKind, signalDefinitions } from './signals.ts';

/**
 * Scores and incidents of one (service, region) over [from, to), from its minute series
 * (which must hold the baseline's history before `from` too): what the job stores and the
 * benchmark measures, with no I/O.
 */

const MINUTE = 60_000;

export interface Detection {
  minutes: MinuteEvidence[];
  incidents: Incident[];
}

export interface DetectOptions {
  service: string;
  region: string;
  settings: IncidentSettings;
  excuseRetroactive: boolean;
  /** Maintenance ids in force per minute, when the caller knows them (the job reads them). */
  maintenanceIds?: (minute: number) => readonly string[];
}

export function signalKinds(excuseRetroactive: boolean): Record<(typeof SIGNAL_IDS)[number], SignalKind> {
  const defs = signalDefinitions({ excuseRetroactive });
  return Object.fromEntries(SIGNAL_IDS.map((id) => [id, defs[id].kind])) as Record<(typeof SIGNAL_IDS)[number], SignalKind>;
}

/** Every minute of [from, to) scored, with the maintenance in force. */
export function scoreMinutes(series: MinuteSeries, from: number, to: number, o: DetectOptions): MinuteEvidence[] {
  const scorer = new Scorer(series, o.settings, { excuseRetroactive: o.excuseRetroactive });
  const minutes: MinuteEvidence[] = [];
  for (let m = Math.floor(from / MINUTE) * MINUTE; m < to; m += MINUTE) minutes.push(minuteEvidence(scorer, series, m, o));
  return minutes;
}

/**
 * The same as `scoreMinutes`, giving the event loop a turn whenever a slice has run out:
 * the job's first pass scores hours of minutes per pair, each against weeks of baseline,
 * which held ingest and /livez behind it for up to a second in one synchronous loop.
 */
export async function scoreMinutesInSlices(
  series: MinuteSeries,
  from: number,
  to: number,
  o: DetectOptions,
  slices: Slices,
): Promise<MinuteEvidence[]> {
  const scorer = new Scorer(series, o.settings, { excuseRetroactive: o.excuseRetroactive });
  const minutes: MinuteEvidence[] = [];
  for (let m = Math.floor(from / MINUTE) * MINUTE; m < to; m += MINUTE) {
    minutes.push(minuteEvidence(scorer, series, m, o));
    if (slices.due) await slices.turn();
  }
  return minutes;
}

function minuteEvidence(scorer: Scorer, series: MinuteSeries, minute: number, o: DetectOptions): MinuteEvidence {
  const ids = o.maintenanceIds?.(minute);
  return {
    minute,
    scores: scorer.scoreMinute(minute),
    maintenance: { ...maintenanceOf(series.get(minute)), ...(ids && ids.length > 0 ? { ids } : {}) },
  };
}

export function detect(series: MinuteSeries, from: number, to: number, o: DetectOptions): Detection {
  const minutes = scoreMinutes(series, from, to, o);
  const incidents = deriveIncidents(
    { service: o.service, region: o.region, settings: o.settings, kinds: signalKinds(o.excuseRetroactive) },
    minutes,
  );
  return { minutes, incidents };
}
