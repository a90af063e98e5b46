import type { KpiId } from '../../services/shared/kpi/catalog.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { ALT_TABLE } from './raw-table.ts';

/**
 * The same KPIs as services/shared/kpi/*, computed by SQL over the raw rows at read time
 * (definitions as in the design document; thresholds: short abandon 5 s, service level
 * 20 s, negative sentiment < −0.05). Percentiles are exact here (the pipeline's are 1 %
 * sketches). Availability equals Serviceability: the benchmark stream has no maintenance.
 */

const SQL = (table: string) => `
SELECT
  toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({stepSec:UInt32}))) * 1000 AS bucket,
  count() AS events,
  sumIf(attempts, source = 'probe') AS attempts,
  sumIf(successes, source = 'probe') AS successes,
  countIf(source = 'probe') AS samples,
  quantileExactIf(0.5)(latency_ms, source = 'probe' AND latency_ms IS NOT NULL) AS latency_p50,
  quantileExactIf(0.95)(latency_ms, source = 'probe' AND latency_ms IS NOT NULL) AS latency_p95,
  countIf(latency_ms IS NOT NULL) AS latency_n,
  avgIf(jitter_ms, jitter_ms IS NOT NULL) AS jitter,
  countIf(packet_loss_pct IS NOT NULL AND packets_sent > 0) AS loss_w,
  sumIf(packet_loss_pct * packets_sent, packets_sent > 0) AS loss_pct_packets,
  sumIf(packets_sent, packet_loss_pct IS NOT NULL AND packets_sent > 0) AS loss_packets,
  countIf(packet_loss_pct IS NOT NULL AND packets_sent IS NULL) AS loss_u,
  sumIf(packet_loss_pct, packet_loss_pct IS NOT NULL AND packets_sent IS NULL) AS loss_pct_sum,
  quantileExactIf(0.5)(throughput_kbps, throughput_kbps IS NOT NULL) AS throughput_p50,
  countIf(throughput_kbps IS NOT NULL) AS throughput_n,
  avgIf(mos, mos IS NOT NULL) AS mos,
  countIf(source = 'contact' AND abandoned = 0) AS answered,
  countIf(source = 'contact' AND abandoned = 1 AND wait_sec >= 5) AS abandoned_long,
  countIf(source = 'contact' AND abandoned = 1 AND wait_sec < 5) AS short_abandons,
  sumIf(wait_sec, source = 'contact' AND abandoned = 0) AS answered_wait,
  countIf(source = 'contact' AND abandoned = 0 AND wait_sec <= 20) AS within_sl,
  countIf(source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL) AS handled,
  sumIf(handle_sec, source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL) AS handle_sum,
  countIf(source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL AND resolved IS NOT NULL) AS resolution_reported,
  countIf(source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL AND resolved = 1) AS resolved_first,
  countIf(source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL AND transfers IS NOT NULL) AS transfers_reported,
  countIf(source = 'contact' AND abandoned = 0 AND handle_sec IS NOT NULL AND transfers >= 1) AS transferred,
  countIf(kind = 'nps') AS nps_n,
  countIf(kind = 'nps' AND score >= 9) AS promoters,
  countIf(kind = 'nps' AND score <= 6) AS detractors,
  countIf(kind = 'csat') AS csat_n,
  countIf(kind = 'csat' AND score >= 4) AS csat_ok,
  avgIf(score, kind = 'ces') AS ces,
  countIf(source = 'social') AS mentions,
  countIf(source = 'social' AND sentiment < -0.05) AS negative,
  avgIf(sentiment, source = 'social') AS mean_sentiment
FROM ${table} FINAL
WHERE service = {service:String} AND region = {region:String}
  AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
GROUP BY bucket ORDER BY bucket`;

type Row = Record<string, string | number | null>;

const n = (v: unknown): number => Number(v ?? 0);
const div = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const orNull = (v: unknown, count: number): number | null =>
  count > 0 && v !== null && Number.isFinite(Number(v)) ? Number(v) : null;

export interface AltBucket {
  start: number;
  events: number;
  samples: number;
  kpis: Partial<Record<KpiId, number | null>>;
}

export async function altKpis(
  store: Store,
  q: { service: string; region: string; from: number; to: number; stepSec: number },
): Promise<AltBucket[]> {
  const rows = await store.query<Row>(SQL(store.table(ALT_TABLE)), q);
  return rows.map((r) => {
    const offered = n(r.answered) + n(r.abandoned_long);
    const lossW = n(r.loss_w);
    const lossU = n(r.loss_u);
    const weighted = div(n(r.loss_pct_packets), n(r.loss_packets));
    const loss =
      lossW === 0
        ? div(n(r.loss_pct_sum), lossU)
        : lossU === 0
          ? weighted
          : (lossW * (weighted ?? 0) + n(r.loss_pct_sum)) / (lossW + lossU);
    const successRate = div(n(r.successes), n(r.attempts));
    return {
      start: n(r.bucket),
      events: n(r.events),
      samples: n(r.samples),
      kpis: {
        test_success_rate: successRate,
        serviceability: successRate,
        availability: successRate,
        latency_p50_ms: orNull(r.latency_p50, n(r.latency_n)),
        latency_p95_ms: orNull(r.latency_p95, n(r.latency_n)),
        jitter_ms: orNull(r.jitter, 1),
        packet_loss_pct: loss,
        throughput_p50_kbps: orNull(r.throughput_p50, n(r.throughput_n)),
        mos: orNull(r.mos, 1),
        offered,
        answered: n(r.answered),
        abandoned: n(r.abandoned_long),
        short_abandons: n(r.short_abandons),
        asa_sec: div(n(r.answered_wait), n(r.answered)),
        service_level: div(n(r.within_sl), offered),
        abandonment_rate: div(n(r.abandoned_long), offered),
        aht_sec: div(n(r.handle_sum), n(r.handled)),
        fcr: div(n(r.resolved_first), n(r.resolution_reported)),
        transfer_rate: div(n(r.transferred), n(r.transfers_reported)),
        nps: n(r.nps_n) > 0 ? (100 * (n(r.promoters) - n(r.detractors))) / n(r.nps_n) : null,
        csat: div(100 * n(r.csat_ok), n(r.csat_n)),
        ces: orNull(r.ces, 1),
        social_volume: n(r.mentions),
        social_negative_share: div(n(r.negative), n(r.mentions)),
        social_mean_sentiment: orNull(r.mean_sentiment, n(r.mentions)),
        social_surge: null,
      },
    };
  });
}
