import { describe, expect, it } from 'vitest';
import { addContact, type ContactMeasurement, emptyContact } from '../../services/families/contact/accumulator.ts';
import { addProbe, emptyProbe, type ProbeMeasurement } from '../../services/families/probe/accumulator.ts';
import { addSurvey, emptySurvey, type SurveyMeasurement } from '../../services/families/survey/accumulator.ts';
import { mergeWindows, type WindowAccumulators, windowKpis } from '../../services/shared/kpi/window.ts';
import { prng } from './records.ts';

/**
 * A day of minute windows whose volumes differ by orders of magnitude (0, 1, 2 … 600
 * contacts a minute), with the quiet minutes doing worse than the busy ones. Hourly and
 * daily KPIs from merged accumulators must equal the ratio over every event, computed
 * here straight from the events; the mean of minute ratios would not.
 */

const MINUTES = 1440;
const CONTACT_VOLUMES = [0, 1, 2, 250, 3, 40, 600];
const PROBE_VOLUMES = [1, 30, 0, 5, 120];

interface Minute {
  contacts: ContactMeasurement[];
  probes: ProbeMeasurement[];
  surveys: SurveyMeasurement[];
}

function day(): Minute[] {
  const random = prng(2026);
  const int = (n: number) => Math.floor(random() * n);
  return Array.from({ length: MINUTES }, (_, m) => {
    const quiet = (CONTACT_VOLUMES[m % CONTACT_VOLUMES.length] ?? 0) < 10;
    const contacts = Array.from({ length: CONTACT_VOLUMES[m % CONTACT_VOLUMES.length] ?? 0 }, () => ({
      waitSec: quiet ? 60 + int(240) : int(40), // whole seconds: sums stay exact
      abandoned: random() < (quiet ? 0.4 : 0.05),
      handleSec: 60 + int(600),
      resolved: random() < 0.7,
      transfers: int(3) === 0 ? 1 : 0,
    }));
    const probes = Array.from({ length: PROBE_VOLUMES[m % PROBE_VOLUMES.length] ?? 0 }, (_, i) => {
      const attempts = i % 3 === 0 ? 10 + int(90) : 1;
      return {
        attempts,
        successes: attempts - (random() < 0.1 ? Math.min(attempts, 1 + int(5)) : 0),
        latencyMs: null,
        jitterMs: null,
        packetLossPct: int(8),
        packetsSent: i % 2 === 0 ? 100 + int(5000) : null,
        throughputKbps: null,
        mos: null,
      };
    });
    const surveys = m % 11 === 0 ? Array.from({ length: 1 + int(20) }, () => ({ kind: 'nps' as const, score: int(11) })) : [];
    return { contacts, probes, surveys };
  });
}

function windowOf(minute: Minute): WindowAccumulators {
  const contact = emptyContact();
  for (const c of minute.contacts) addContact(contact, c);
  const probe = emptyProbe();
  for (const p of minute.probes) addProbe(probe, p);
  const survey = emptySurvey();
  for (const s of minute.surveys) addSurvey(survey, s);
  return { contact, probe, survey };
}

/** The KPIs straight from a list of events, with no accumulator involved. */
function exact(minutes: Minute[]) {
  const contacts = minutes.flatMap((m) => m.contacts);
  const probes = minutes.flatMap((m) => m.probes);
  const npsScores = minutes.flatMap((m) => m.surveys.map((s) => s.score));
  const answered = contacts.filter((c) => !c.abandoned);
  const abandoned = contacts.filter((c) => c.abandoned && c.waitSec >= 5);
  const offered = answered.length + abandoned.length;
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const weighted = probes.filter((p) => p.packetsSent !== null);
  const unweighted = probes.filter((p) => p.packetsSent === null);
  const weightedLoss =
    sum(weighted.map((p) => (p.packetLossPct ?? 0) * (p.packetsSent ?? 0))) / sum(weighted.map((p) => p.packetsSent ?? 0));
  return {
    asa_sec: sum(answered.map((c) => c.waitSec)) / answered.length,
    service_level: answered.filter((c) => c.waitSec <= 20).length / offered,
    abandonment_rate: abandoned.length / offered,
    aht_sec: sum(answered.map((c) => c.handleSec ?? 0)) / answered.length,
    fcr: answered.filter((c) => c.resolved).length / answered.length,
    serviceability: sum(probes.map((p) => p.successes)) / sum(probes.map((p) => p.attempts)),
    packet_loss_pct:
      (weighted.length * weightedLoss + sum(unweighted.map((p) => p.packetLossPct ?? 0))) / (weighted.length + unweighted.length),
    nps: (100 * (npsScores.filter((s) => s >= 9).length - npsScores.filter((s) => s <= 6).length)) / npsScores.length,
  };
}

const pick = (values: ReturnType<typeof windowKpis>) => ({
  asa_sec: values.asa_sec,
  service_level: values.service_level,
  abandonment_rate: values.abandonment_rate,
  aht_sec: values.aht_sec,
  fcr: values.fcr,
  serviceability: values.serviceability,
  packet_loss_pct: values.packet_loss_pct,
  nps: values.nps,
});

describe('rollups from merged minute accumulators', () => {
  const minutes = day();
  const windows = minutes.map(windowOf);

  it('every hour: the KPIs of the merged minutes equal the ratios over all the hour’s events', () => {
    for (let h = 0; h < 24; h += 1) {
      const hour = windows.slice(h * 60, h * 60 + 60);
      expect(pick(windowKpis(mergeWindows(hour)))).toEqual(exact(minutes.slice(h * 60, h * 60 + 60)));
    }
  });

  it('the day: merging 24 merged hours, or 1440 minutes, both equal the ratios over all events', () => {
    const hours = Array.from({ length: 24 }, (_, h) => mergeWindows(windows.slice(h * 60, h * 60 + 60)));
    const truth = exact(minutes);
    expect(pick(windowKpis(mergeWindows(hours)))).toEqual(truth);
    expect(pick(windowKpis(mergeWindows(windows)))).toEqual(truth);
  });

  it('the mean of minute ratios would be wrong here: quiet minutes would weigh as much as busy ones', () => {
    const minuteAsa = windows.map((w) => windowKpis(w).asa_sec).filter((v): v is number => v !== null);
    const meanOfMinutes = minuteAsa.reduce((s, v) => s + v, 0) / minuteAsa.length;
    const truth = exact(minutes).asa_sec;
    expect(Math.abs(meanOfMinutes - truth)).toBeGreaterThan(10); // seconds
  });
});
