import type { Counter } from 'prom-client';
import { z } from 'zod';
import type { Metrics } from '../shared/metrics.ts';

/**
 * `GET /api/v1/ingest/stats`: the ingest counters of this process per source, read
 * from the same prom-client counters `/metrics` exposes, so the two never disagree.
 * `balanced` checks `received = accepted + rejected` at the edge; `deadLettered` is
 * what the aggregator sent to `cx.dlq.v1` after the edge (undecodable, unknown schema,
 * failed mapping) and is not part of that sum: those events were accepted here.
 *
 * `aggregated` is what the aggregator of this process then did with the accepted
 * events (docs/corrections.md): `counted` (new events), `duplicate` (a version seen
 * before), `corrected` (an eventId seen before with other content: it replaced the
 * earlier version), `retracted`, and `late` (too late for its window, or a correction
 * past the horizon: kept in late_events). Accepted events are each one of these once
 * the aggregator has read them; a message the aggregator reads again after a restart
 * may be counted again here (these are counters of work done, the stored windows count
 * each event once).
 */

const count = z.number().int().min(0);

export const sourceStatsBody = z.object({
  received: count,
  accepted: count,
  rejected: z.object({
    total: count,
    byReason: z.record(z.string(), count).describe('invalid, bus_unavailable, bus_timeout'),
  }),
  deadLettered: count,
  balanced: z.boolean().describe('received = accepted + rejected.total'),
  aggregated: z
    .object({
      counted: count.describe('new events counted in their windows (late updates included)'),
      duplicate: count.describe('a version of an event seen before: nothing changed'),
      corrected: count.describe('an eventId seen before with other content: the earlier version taken out, this one counted'),
      retracted: count.describe('retractions applied: the event taken out of every window it counted in'),
      late: count.describe('too late for its window, or a correction past CXV_CORRECTION_HORIZON_MS: kept in late_events'),
    })
    .describe('what this process’s aggregator did with accepted events (corrected is part of accepted, not added to it)'),
});

export const ingestStatsBody = z.object({
  balanced: z.boolean().describe('every source is balanced'),
  inFlightEvents: count.describe('events handed to Kafka and not yet acknowledged, now'),
  maxInFlightEvents: count,
  sources: z.record(z.string(), sourceStatsBody),
});

export type SourceStats = z.infer<typeof sourceStatsBody>;
export type IngestStats = z.infer<typeof ingestStatsBody>;

type Values = Array<{ labels: Record<string, string | number>; value: number }>;

async function valuesOf(counter: Counter<string>): Promise<Values> {
  return (await counter.get()).values as Values;
}

const sum = (values: Values, where: Record<string, string>): number =>
  values
    .filter((v) => Object.entries(where).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((total, v) => total + v.value, 0);

export async function readIngestStats(
  metrics: Metrics,
  sources: readonly string[],
  capacity: { inFlight: number; max: number },
): Promise<IngestStats> {
  const [received, accepted, rejected, outcomes] = await Promise.all([
    valuesOf(metrics.ingestReceived),
    valuesOf(metrics.ingestAccepted),
    valuesOf(metrics.ingestRejected),
    valuesOf(metrics.aggregatorOutcome),
  ]);
  // Sources seen in the counters but not (or no longer) declared are shown too.
  const names = new Set<string>(sources);
  for (const v of [...received, ...rejected]) names.add(String(v.labels.source));
  const bySource: Record<string, SourceStats> = {};
  for (const source of [...names].sort()) {
    const byReason: Record<string, number> = {};
    for (const v of rejected) {
      if (String(v.labels.source) !== source) continue;
      const reason = String(v.labels.reason);
      byReason[reason] = (byReason[reason] ?? 0) + v.value;
    }
    const rejectedTotal = Object.values(byReason).reduce((a, b) => a + b, 0);
    const s = {
      received: sum(received, { source }),
      accepted: sum(accepted, { source }),
      rejected: { total: rejectedTotal, byReason },
      deadLettered: sum(outcomes, { source, outcome: 'dead_lettered' }),
      aggregated: {
        counted: sum(outcomes, { source, outcome: 'counted' }) + sum(outcomes, { source, outcome: 'late_update' }),
        duplicate: sum(outcomes, { source, outcome: 'duplicate' }) + sum(outcomes, { source, outcome: 'already_counted' }),
        corrected: sum(outcomes, { source, outcome: 'corrected' }),
        retracted: sum(outcomes, { source, outcome: 'retracted' }),
        late: sum(outcomes, { source, outcome: 'too_late' }) + sum(outcomes, { source, outcome: 'correction_past_horizon' }),
      },
    };
    bySource[source] = { ...s, balanced: s.received === s.accepted + rejectedTotal };
  }
  return {
    balanced: Object.values(bySource).every((s) => s.balanced),
    inFlightEvents: capacity.inFlight,
    maxInFlightEvents: capacity.max,
    sources: bySource,
  };
}
