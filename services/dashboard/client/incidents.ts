/// <reference lib="dom" />

import { h } from './dom.ts';
import { formatClock } from './format.ts';

/**
 * The incidents panel (issue 18): open incidents first, then the last resolved ones, each
 * with its timeline drawn — one row per signal in the order it moved, a cell per minute,
 * filled where the signal was anomalous, the start marked and each signal's lag written
 * beside it. Data from GET /api/v1/incidents and /api/v1/incidents/{id}; refreshed with the
 * page and on the live stream's `incident` events.
 */

interface IncidentSignal {
  signal: string;
  kind: 'network' | 'customer';
  firstAnomalous: string;
  lagMinutes: number;
  anomalousMinutes: number;
  peak: { value: number; baseline: number; score: number; reason: string };
}

export interface IncidentView {
  id: string;
  service: string;
  region: string;
  status: 'open' | 'resolved';
  start: string;
  resolvedAt: string | null;
  trigger: string;
  signals: IncidentSignal[];
  maintenance: { retroactive: boolean; plannedInForce: boolean; ids: string[] };
  customersAffected: { count: number | null; reason: string };
}

interface IncidentDetail extends IncidentView {
  timeline: { from: string; to: string; minutes: Array<{ minute: string; signals: Record<string, { anomalous: boolean }> }> };
}

const SVG = 'http://www.w3.org/2000/svg';
const MINUTE = 60_000;
const SHOWN_RESOLVED = 3;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const label = (signal: string) =>
  signal.replaceAll('_', ' ').replace('asa sec', 'ASA').replace('nps', 'NPS').replace('csat', 'CSAT');

/** The timeline: one row per signal, one cell per minute of the evidence, anomalous cells filled. */
export function drawTimeline(d: IncidentDetail, timeZone: string | undefined): SVGSVGElement {
  const from = Date.parse(d.timeline.from);
  const to = Date.parse(d.timeline.to);
  const minutes = Math.max(1, Math.round((to - from) / MINUTE));
  const rowH = 18;
  const left = 170;
  const cell = Math.max(6, Math.min(16, Math.floor(720 / minutes)));
  const width = left + minutes * cell + 60;
  const height = (d.signals.length + 1) * rowH + 8;
  const root = svg('svg', { class: 'incident-timeline', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  root.setAttribute(
    'aria-label',
    `Timeline of incident ${d.id}: ${d.signals.map((s) => `${label(s.signal)} +${s.lagMinutes} min`).join(', ')}`,
  );
  const byMinute = new Map(d.timeline.minutes.map((m) => [Date.parse(m.minute), m.signals]));
  const startX = left + ((Date.parse(d.start) - from) / MINUTE) * cell;
  d.signals.forEach((s, row) => {
    const y = row * rowH + 4;
    const g = svg('g', { 'data-signal': s.signal, 'data-lag': s.lagMinutes });
    g.append(svg('text', { x: 0, y: y + rowH - 6, class: `tl-label ${s.kind}` }, label(s.signal)));
    for (let i = 0; i < minutes; i += 1) {
      const anomalous = byMinute.get(from + i * MINUTE)?.[s.signal]?.anomalous === true;
      g.append(
        svg('rect', {
          x: left + i * cell,
          y: y + 2,
          width: cell - 1,
          height: rowH - 6,
          class: anomalous ? `tl-cell anomalous ${s.kind}` : 'tl-cell',
        }),
      );
    }
    const lagX = left + minutes * cell + 6;
    g.append(svg('text', { x: lagX, y: y + rowH - 6, class: 'tl-lag' }, s.lagMinutes === 0 ? 'start' : `+${s.lagMinutes} min`));
    root.append(g);
  });
  const axisY = d.signals.length * rowH + rowH;
  root.append(svg('line', { x1: startX, x2: startX, y1: 0, y2: axisY - rowH + 4, class: 'tl-start' }));
  root.append(svg('text', { x: left, y: axisY, class: 'tl-axis' }, formatClock(from, timeZone)));
  root.append(
    svg('text', { x: startX, y: axisY, class: 'tl-axis start' }, `start ${formatClock(Date.parse(d.start), timeZone)}`),
  );
  return root;
}

function incidentCard(d: IncidentDetail | IncidentView, timeZone: string | undefined): HTMLElement {
  const start = formatClock(Date.parse(d.start), timeZone);
  const peak = d.signals.map(
    (s) =>
      `${label(s.signal)} ${s.peak.value.toFixed(s.peak.value < 2 ? 3 : 1)} vs ${s.peak.baseline.toFixed(s.peak.baseline < 2 ? 3 : 1)}`,
  );
  return h(
    'article',
    {
      class: `incident ${d.status}`,
      'data-incident': d.id,
      'data-status': d.status,
      'data-service': d.service,
      'data-region': d.region,
    },
    h(
      'h3',
      {},
      `${d.service} · ${d.region} — `,
      d.status === 'open'
        ? h('span', { class: 'badge open' }, `open since ${start}`)
        : `${start}–${formatClock(Date.parse(d.resolvedAt ?? d.start), timeZone)}`,
      d.maintenance.retroactive ? h('span', { class: 'badge retro' }, '⚠ maintenance declared after it began') : null,
    ),
    h('p', { class: 'muted' }, d.trigger, ' · peaks: ', peak.join(', ')),
    'timeline' in d ? drawTimeline(d, timeZone) : null,
    d.customersAffected.count === null ? null : h('p', {}, `${d.customersAffected.count} customers affected`),
  );
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}

export class IncidentsPanel {
  constructor(
    private readonly el: HTMLElement,
    private readonly timeZone: string | undefined,
  ) {}

  /** Reloads the incidents of the region shown (all regions when none is chosen). */
  async refresh(region: string): Promise<void> {
    const q = new URLSearchParams({ limit: '50' });
    if (region) q.set('region', region);
    try {
      const { incidents } = await getJson<{ incidents: IncidentView[] }>(`/api/v1/incidents?${q}`);
      const open = incidents.filter((i) => i.status === 'open');
      const resolved = incidents.filter((i) => i.status === 'resolved').slice(0, SHOWN_RESOLVED);
      const details = await Promise.all(
        [...open, ...resolved].map((i) => getJson<IncidentDetail>(`/api/v1/incidents/${i.id}`).catch(() => i)),
      );
      this.el.dataset.open = String(open.length);
      this.el.replaceChildren(
        h('h2', {}, open.length > 0 ? `Incidents: ${open.length} open` : 'Incidents: none open'),
        ...(details.length > 0
          ? details.map((d) => incidentCard(d, this.timeZone))
          : [h('p', { class: 'muted' }, 'No incident in the last 24 hours.')]),
      );
    } catch (err) {
      this.el.replaceChildren(h('h2', {}, 'Incidents'), h('p', { class: 'error' }, `Could not load incidents: ${String(err)}`));
    }
  }
}
