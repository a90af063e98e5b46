/**
 * One-line human explanations of a CSI and of a CSI change, from the scored structures
 * alone (no model needed), so the API can render them for any stored row:
 *
 *   CSI 74.0: care responsiveness cost 12.0 points (ASA 95 s vs best 20 s), …
 *   CSI fell 6.0 points (80.0 → 74.0): care responsiveness -4.0 (ASA 95 s vs best 20 s), …
 *
 * Each KQI names the KPI that cost the most CSI points inside it.
 */

import type { KpiUnit } from '../shared/kpi/catalog.ts';
import type { CsiScore, KpiScore, KqiContribution, KqiScore } from './score.ts';

/** Few digits, none trailing: 95 → "95", 4.256 → "4.26", 123.4 → "123". */
function compact(v: number, maxDecimals: number): string {
  const text = v.toFixed(maxDecimals);
  const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return trimmed === '-0' ? '0' : trimmed;
}

export function formatKpiValue(value: number, unit: KpiUnit): string {
  const decimals = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  switch (unit) {
    case 'ratio':
      return `${compact(value * 100, 2)}%`;
    case 'pct':
      return `${compact(value, 2)}%`;
    case 'ms':
    case 's':
    case 'kbps':
      return `${compact(value, decimals)} ${unit}`;
    default:
      return compact(value, decimals);
  }
}

/** Points and scores always with one decimal: "12.0". */
const points = (v: number): string => v.toFixed(1);
const score1 = points;

/** The KPI of a KQI that cost the most CSI points (ties: the first listed). */
function worstKpi(kqi: KqiScore | undefined): KpiScore | undefined {
  let worst: KpiScore | undefined;
  for (const k of kqi?.kpis ?? []) {
    if (k.score === null || k.value === null) continue;
    if (!worst || k.csiPointsLost > worst.csiPointsLost) worst = k;
  }
  return worst;
}

const kpiPhrase = (k: KpiScore | undefined): string =>
  k && k.value !== null ? ` (${k.label} ${formatKpiValue(k.value, k.unit)} vs best ${formatKpiValue(k.best, k.unit)})` : '';

export interface ExplainOptions {
  /** How many KQIs to name; the rest are summed up (default 3). */
  maxKqis?: number;
}

/** "CSI 74.0 (coverage 80%): care responsiveness cost 12.0 points (ASA 95 s vs best 20 s), …" */
export function explainCsi(score: CsiScore, options: ExplainOptions = {}): string {
  if (score.csi === null) return 'CSI n/a: no KQI had data';
  const maxKqis = options.maxKqis ?? 3;
  const head = `CSI ${score1(score.csi)}${score.coverage < 1 ? ` (coverage ${compact(score.coverage * 100, 0)}%)` : ''}`;
  const kqiByName = new Map(score.kqis.map((k) => [k.kqi, k]));
  const costly = score.contributions
    .filter((c) => c.score !== null && c.pointsLost >= 0.05)
    .sort((a, b) => b.pointsLost - a.pointsLost);
  const named = costly
    .slice(0, maxKqis)
    .map((c) => `${c.label} cost ${points(c.pointsLost)} points${kpiPhrase(worstKpi(kqiByName.get(c.kqi)))}`);
  const rest = costly.slice(maxKqis);
  if (rest.length > 0) {
    const lost = rest.reduce((s, c) => s + c.pointsLost, 0);
    named.push(`${rest.length} more KQI${rest.length > 1 ? 's' : ''} cost ${points(lost)} points`);
  }
  const missing = score.contributions.filter((c) => c.score === null).map((c) => c.label);
  const body = named.length > 0 ? named.join(', ') : 'no points lost';
  return `${head}: ${body}${missing.length > 0 ? `; no data: ${missing.join(', ')}` : ''}`;
}

/**
 * "CSI fell 6.0 points (80.0 → 74.0): care responsiveness -4.0 (ASA 95 s vs best 20 s), …"
 * Each KQI's change is the change of its contribution (weight share × score), so the
 * changes add up to the CSI's change even when coverage differs between the two.
 */
export function explainCsiChange(before: CsiScore, after: CsiScore, options: ExplainOptions = {}): string {
  if (before.csi === null || after.csi === null) {
    return `CSI ${before.csi === null ? 'n/a' : score1(before.csi)} → ${after.csi === null ? 'n/a' : score1(after.csi)}`;
  }
  const maxKqis = options.maxKqis ?? 3;
  const delta = after.csi - before.csi;
  const verb = delta < 0 ? 'fell' : delta > 0 ? 'rose' : 'held';
  const head = `CSI ${verb}${delta === 0 ? '' : ` ${points(Math.abs(delta))} points`} (${score1(before.csi)} → ${score1(after.csi)})`;
  const beforeBy = new Map(before.contributions.map((c) => [c.kqi, c.contribution]));
  const afterKqis = new Map(after.kqis.map((k) => [k.kqi, k]));
  const changes = after.contributions
    .map((c) => ({ c, change: c.contribution - (beforeBy.get(c.kqi) ?? 0) }))
    .filter(({ change }) => Math.abs(change) >= 0.05)
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change))
    .slice(0, maxKqis)
    .map(({ c, change }) => {
      const sign = change > 0 ? '+' : '-';
      const why = change < 0 ? kpiPhrase(worstKpi(afterKqis.get(c.kqi))) : '';
      return `${c.label} ${sign}${points(Math.abs(change))}${why}`;
    });
  return changes.length > 0 ? `${head}: ${changes.join(', ')}` : head;
}

/**
 * The explanation a stored CSI row keeps (csi_1m's `explanation`, JSON): every number of
 * `scoreCsi`'s contributions and KQI/KPI scores, for the KQIs and KPIs that had data.
 * What the model already says (labels, units, best/worst, weights) is left out — the row
 * names its model version and hash — and so is whatever had no data (a score of null,
 * no weight share, no points lost); the row's `summary` names the KQIs without data. The
 * full form was about 3.7 KB per row, mostly those two, and at 10,000 keys its insert was
 * the aggregator's largest cost.
 */
export interface StoredExplanation {
  contributions: Array<Pick<KqiContribution, 'kqi' | 'weightShare' | 'score' | 'contribution' | 'pointsLost'>>;
  kqis: Array<
    Pick<KqiScore, 'kqi' | 'score' | 'coverage'> & {
      kpis: Array<Pick<KpiScore, 'kpi' | 'value' | 'score' | 'weightShare' | 'pointsLost' | 'csiPointsLost'>>;
    }
  >;
}

export function storedExplanation(score: CsiScore): StoredExplanation {
  return {
    contributions: score.contributions
      .filter((c) => c.score !== null)
      .map((c) => ({
        kqi: c.kqi,
        weightShare: c.weightShare,
        score: c.score,
        contribution: c.contribution,
        pointsLost: c.pointsLost,
      })),
    kqis: score.kqis
      .filter((k) => k.score !== null)
      .map((k) => ({
        kqi: k.kqi,
        score: k.score,
        coverage: k.coverage,
        kpis: k.kpis
          .filter((p) => p.score !== null)
          .map((p) => ({
            kpi: p.kpi,
            value: p.value,
            score: p.score,
            weightShare: p.weightShare,
            pointsLost: p.pointsLost,
            csiPointsLost: p.csiPointsLost,
          })),
      })),
  };
}
