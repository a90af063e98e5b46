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

/** The metric's trend against its target and early-warning threshold, as an SVG line chart. */
export function renderTrendHtml(p: GoalPage): string {
  const w = 800;
  const h = 260;
  const pad = 40;
  const pts = p.trend.points.filter((x): x is { t: string; value: number } => x.value !== null);
  const ys = [...pts.map((x) => x.value), p.goal.metric.target, p.goal.metric.warning];
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || Math.abs(hi) || 1;
  const t0 = Date.parse(p.evaluation.window.from);
  const t1 = Math.max(Date.parse(p.evaluation.window.to), t0 + 1);
  const x = (t: string) => pad + ((Date.parse(t) - t0) / (t1 - t0)) * (w - 2 * pad);
  const y = (v: number) => h - pad - ((v - lo + span * 0.05) / (span * 1.1)) * (h - 2 * pad);
  const line = (v: number, colour: string, label: string) =>
    `<line x1="${pad}" x2="${w - pad}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${colour}" stroke-dasharray="6 4"/><text x="${w - pad + 2}" y="${y(v).toFixed(1)}" font-size="11">${label}</text>`;
  const path = pts.map((q) => `${x(q.t).toFixed(1)},${y(q.value).toFixed(1)}`).join(' ');
  const e = p.evaluation;
  return page(
    `Goal ${p.goal.id}: ${p.goal.title}`,
    `<h1>${escapeHtml(p.goal.title)}</h1>
<p class="muted">${escapeHtml(p.kind)} goal ${escapeHtml(p.goal.id)} · cycle ${escapeHtml(p.cycle.name)} · version ${p.goal.version}</p>
<p>Status <b>${escapeHtml(e.status)}</b>: ${escapeHtml(e.reason)}</p>
<table><tr><th>Value</th><th>Target</th><th>Early warning</th><th>Window</th><th>Error budget left</th><th>Burn rate</th></tr>
<tr><td>${fmt(e.value)}</td><td>${escapeHtml(e.comparator)} ${fmt(e.target)}</td><td>${fmt(e.warning)}</td><td>${escapeHtml(e.window.from)} – ${escapeHtml(e.window.to)}</td>
<td>${fmt(e.errorBudget?.remaining)}</td><td>${fmt(e.errorBudget?.burnRate)}</td></tr></table>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="metric trend against target">
<rect x="0" y="0" width="${w}" height="${h}" fill="#fff" stroke="#ccc"/>
${line(p.goal.metric.target, '#c00', 'target')}
${line(p.goal.metric.warning, '#e90', 'warning')}
${pts.length > 0 ? `<polyline fill="none" stroke="#06c" stroke-width="2" points="${path}"/>` : `<text x="${pad}" y="${h / 2}">no data in the window</text>`}
<text x="${pad}" y="${h - 10}" font-size="11">${escapeHtml(e.window.from)}</text><text x="${w - pad}" y="${h - 10}" font-size="11" text-anchor="end">${escapeHtml(e.window.to)}</text>
</svg>`,
  );
}
