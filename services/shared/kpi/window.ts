/**
 * The accumulators of one key over one period, all families together, and the KPI values
 * the model scores.
 *
 * Coarse grains (5 minutes, hours, days, several regions or services) are made by
 * merging base windows: `windowKpis(mergeWindows(minutes))`. Every KPI is then computed
 * from summed counts and merged sketches, so an hourly ratio is the exact ratio over
 * all the hour's events, never an average of minute ratios, and KQI and CSI at that
 * grain are scored from these KPIs, never averaged from minute scores.
 */

import type { KpiId } from './catalog.ts';
import { type ContactAccumulator, contactKpis, emptyContact, mergeContact } from './contact.ts';
import { emptyProbe, mergeProbe, type ProbeAccumulator, type ProbeKpiOptions, probeKpis } from './probe.ts';
import { emptySocial, mergeSocial, type SocialAccumulator, socialKpis } from './social.ts';
import { emptySurvey, mergeSurvey, type SurveyAccumulator, surveyKpis } from './survey.ts';

/** A family absent from a window had no events in it. */
export interface WindowAccumulators {
  probe?: ProbeAccumulator;
  contact?: ContactAccumulator;
  survey?: SurveyAccumulator;
  social?: SocialAccumulator;
}

function mergeOptional<A>(a: A | undefined, b: A | undefined, merge: (x: A, y: A) => A): A | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return merge(a, b);
}

/** Merges any number of windows (none gives an empty window). Inputs are not changed. */
export function mergeWindows(windows: Iterable<WindowAccumulators>): WindowAccumulators {
  let out: WindowAccumulators = {};
  for (const w of windows) {
    out = {
      probe: mergeOptional(out.probe, w.probe, mergeProbe),
      contact: mergeOptional(out.contact, w.contact, mergeContact),
      survey: mergeOptional(out.survey, w.survey, mergeSurvey),
      social: mergeOptional(out.social, w.social, mergeSocial),
    };
  }
  return out;
}

export interface WindowKpiOptions extends ProbeKpiOptions {
  /** The social surge z of this window, when the caller tracks it (surge.ts); else null. */
  socialSurge?: number | null;
}

/**
 * Every KPI of a window by catalog id (catalog.ts). A family with no accumulator reads as
 * an empty one: 0 for its counts, null for its ratios, means and percentiles.
 */
export function windowKpis(w: WindowAccumulators, options: WindowKpiOptions = {}): Record<KpiId, number | null> {
  const p = probeKpis(w.probe ?? emptyProbe(), options);
  const c = contactKpis(w.contact ?? emptyContact());
  const s = surveyKpis(w.survey ?? emptySurvey());
  const m = socialKpis(w.social ?? emptySocial());
  return {
    test_success_rate: p.testSuccessRate,
    serviceability: p.serviceability,
    availability: p.availability,
    latency_p50_ms: p.latencyP50Ms,
    latency_p95_ms: p.latencyP95Ms,
    jitter_ms: p.jitterMs,
    packet_loss_pct: p.packetLossPct,
    throughput_p50_kbps: p.throughputP50Kbps,
    mos: p.mos,
    offered: c.offered,
    answered: c.answered,
    abandoned: c.abandoned,
    short_abandons: c.shortAbandons,
    asa_sec: c.asaSec,
    service_level: c.serviceLevel,
    abandonment_rate: c.abandonmentRate,
    aht_sec: c.ahtSec,
    fcr: c.fcr,
    transfer_rate: c.transferRate,
    nps: s.nps,
    csat: s.csat,
    ces: s.ces,
    social_volume: m.volume,
    social_negative_share: m.negativeShare,
    social_mean_sentiment: m.meanSentiment,
    social_surge: options.socialSurge ?? null,
  };
}
