import { formatFeedValue } from './format.ts';
import type { CommitmentSession } from './model.ts';
import type { GoalPage } from './service.ts';

/**
 * Printable pages: the commitment overview (what a manager and their staff agree on)
 * and a goal's trend against its target (inline SVG, no scripts, prints on paper).
 * Every value from the model is escaped.
 */

const escapeHtml = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const fmt = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(4);

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#eee}.muted{color:#555}.sig{height:2.2rem}
@media print{body{margin:1cm}a{color:inherit;text-decoration:none}}
</style></head><body>${body}</body></html>`;

export function renderOverviewHtml(session: CommitmentSession): string {
  const o = session.overview;
  const acks = new Map(session.acknowledgements.map((a) => [a.personId, a]));
  const goals = o.goals
    .map(
      (g) => `<h3>${escapeHtml(g.title)} <span class="muted">(${escapeHtml(g.id)}, ${escapeHtml(g.status)})</span></h3>
<p>Tied to: ${escapeHtml(g.orgGoal.title)} · Owner: ${escapeHtml(g.owner.name)}</p>
<table><tr><th>Metric</th><th>Target</th><th>Early warning</th><th>Period</th><th>Baseline</th><th>Latest</th><th>Status</th></tr>
<tr><td>${escapeHtml(g.metric.feed)}</td><td>${escapeHtml(g.metric.comparator)} ${fmt(g.metric.target)} ${escapeHtml(g.metric.unit ?? '')}</td><td>${fmt(g.metric.warning)}</td>
<td>${escapeHtml(g.metric.period)}</td><td>${fmt(g.baseline)}</td><td>${fmt(g.latest?.value)}</td><td>${escapeHtml(g.latest?.status ?? '—')}</td></tr></table>
<table><tr><th>Action</th><th>Owner</th><th>Due</th><th>Status</th><th>Metric before</th><th>Metric after</th></tr>
${g.actions.map((a) => `<tr><td>${escapeHtml(a.title)}</td><td>${escapeHtml(a.owner.name)}</td><td>${escapeHtml(a.dueDate)}</td><td>${escapeHtml(a.status)}</td><td>${fmt(a.before)}</td><td>${fmt(a.after)}</td></tr>`).join('\n') || '<tr><td colspan="6" class="muted">No actions recorded.</td></tr>'}
</table>`,
    )
    .join('\n');
  const staff = o.staff
    .map((p) => {
      const a = acks.get(p.id);
      return `<tr><td>${escapeHtml(p.name)}</td><td>${a ? `acknowledged ${escapeHtml(a.at)}${a.comment ? ` — ${escapeHtml(a.comment)}` : ''}` : '<span class="muted">pending</span>'}</td><td class="sig"></td></tr>`;
    })
    .join('\n');
  return page(
    `Commitment: ${o.department.name}, ${o.cycle.name}`,
    `<h1>Commitment session: ${escapeHtml(o.department.name)}</h1>
<p>Cycle ${escapeHtml(o.cycle.name)} (${escapeHtml(o.cycle.startsAt.slice(0, 10))} – ${escapeHtml(o.cycle.endsAt.slice(0, 10))}) · held ${escapeHtml(session.heldAt)} · manager ${escapeHtml(o.manager.name)} · overview of ${escapeHtml(o.generatedAt)} · session ${escapeHtml(session.id)}</p>
<h2>Goals, metrics and actions</h2>
${goals || '<p class="muted">No department goals in this cycle.</p>'}
<h2>Acknowledgements</h2>
<table><tr><th>Staff member</th><th>Acknowledgement</th><th>Signature</th></tr>${staff}</table>`,
  );
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  const last = Math.ceil(hi / step - 1e-9);
  for (let i = Math.floor(lo / step + 1e-9); i <= last; i += 1) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * The metric's trend against its target and early-warning threshold, as an SVG line chart.
 * The axes zoom to the data the goal has (its first to its last bucket, and the value
 * range of the data, target and warning), with a labelled y-axis in the feed's unit and
 * the target and warning drawn as labelled lines.
 */
export function renderTrendHtml(p: GoalPage): string {
  const w = 860;
  const h = 320;
  const left = 80;
  const right = 150;
  const top = 20;
  const bottom = 40;
  const metric = p.goal.metric;
  const value = (v: number | null | undefined) => formatFeedValue(v, metric.feed);
  const pts = p.trend.points.filter((x): x is { t: string; value: number } => x.value !== null);
  const ys = [...pts.map((x) => x.value), metric.target, metric.warning];
  const dataLo = Math.min(...ys);
  const dataHi = Math.max(...ys);
  const margin = (dataHi - dataLo || Math.abs(dataHi) || 1) * 0.1;
  const ticks = niceTicks(dataLo - margin, dataHi + margin);
  const lo = Math.min(ticks[0] ?? dataLo, dataLo);
  const hi = Math.max(ticks.at(-1) ?? dataHi, dataHi);
  const times = pts.map((x) => Date.parse(x.t));
  const t0 = times.length > 0 ? Math.min(...times) : Date.parse(p.evaluation.window.from);
  const t1 = times.length > 0 ? Math.max(...times) + p.trend.stepMs : Math.max(Date.parse(p.evaluation.window.to), t0 + 1);
  const x = (t: number) => left + ((t - t0) / Math.max(1, t1 - t0)) * (w - left - right);
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo || 1)) * (h - top - bottom);
  const yAxis = ticks
    .filter((v) => v >= lo && v <= hi)
    .map(
      (v) =>
        `<line x1="${left}" x2="${w - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="12" text-anchor="end">${escapeHtml(value(v))}</text>`,
    )
    .join('\n');
  const line = (v: number, colour: string, dash: string, label: string) =>
    `<line x1="${left}" x2="${w - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${w - right + 6}" y="${(y(v) + 4).toFixed(1)}" font-size="13" font-weight="600" fill="${colour}">${escapeHtml(label)}</text>`;
  const path = pts.map((q) => `${x(Date.parse(q.t) + p.trend.stepMs / 2).toFixed(1)},${y(q.value).toFixed(1)}`).join(' ');
  const e = p.evaluation;
  const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  return page(
    `Goal ${p.goal.id}: ${p.goal.title}`,
    `<h1>${escapeHtml(p.goal.title)}</h1>
<p class="muted">${escapeHtml(p.kind)} goal ${escapeHtml(p.goal.id)} · cycle ${escapeHtml(p.cycle.name)} · version ${p.goal.version}</p>
<p>Status <b>${escapeHtml(e.status)}</b>: ${escapeHtml(e.reason)}</p>
<table><tr><th>Value</th><th>Target</th><th>Early warning</th><th>Window</th><th>Error budget left</th><th>Burn rate</th></tr>
<tr><td>${escapeHtml(value(e.value))}</td><td>${escapeHtml(e.comparator)} ${escapeHtml(value(e.target))}</td><td>${escapeHtml(value(e.warning))}</td><td>${escapeHtml(e.window.from)} – ${escapeHtml(e.window.to)}</td>
<td>${fmt(e.errorBudget?.remaining)}</td><td>${fmt(e.errorBudget?.burnRate)}</td></tr></table>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="metric trend against target">
<rect x="0" y="0" width="${w}" height="${h}" fill="#fff" stroke="#ccc"/>
<g class="y-axis">${yAxis}</g>
<line x1="${left}" x2="${left}" y1="${top}" y2="${h - bottom}" stroke="#333"/>
<line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}" stroke="#333"/>
${line(metric.target, '#c00', '', `target ${metric.comparator} ${value(metric.target)}`)}
${line(metric.warning, '#d97706', '8 5', `warning ${value(metric.warning)}`)}
${pts.length > 0 ? `<polyline fill="none" stroke="#06c" stroke-width="2" points="${path}"/>` : `<text x="${left + 10}" y="${h / 2}">no data in the window</text>`}
<text x="${left}" y="${h - 12}" font-size="12">${escapeHtml(day(t0))}</text><text x="${w - right}" y="${h - 12}" font-size="12" text-anchor="end">${escapeHtml(day(t1))}</text>
</svg>`,
  );
}
