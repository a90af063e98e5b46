/// <reference lib="dom" />

import { ApiError, loadRawEvents } from './api.ts';
import { byId, h } from './dom.ts';
import { formatClock, formatKpi, formatScore } from './format.ts';
import type { CsiBucket, KqiScore, Meta, Query } from './types.ts';

/**
 * Drill-down in one dialog, three levels deep, with a breadcrumb back up:
 *   CSI of a bucket → the KQIs that cost its points → the KPIs behind one KQI
 *   → the raw events of that window from the KPI's source (problems first).
 */

/** Payload fields worth a column, per source; other sources show every field. */
const FIELDS: Record<string, string[]> = {
  probe: ['probeId', 'probeType', 'attempts', 'successes', 'latencyMs', 'packetLossPct', 'mos'],
  contact: ['channel', 'queue', 'waitSec', 'abandoned', 'handleSec', 'resolved', 'transfers', 'reason'],
  survey: ['kind', 'score', 'touchpoint', 'comment'],
  social: ['platform', 'sentiment', 'reach', 'text'],
};
const COMMON = new Set(['eventId', 'ts', 'receivedAt', 'service', 'region', 'segment', 'origin']);

interface Target {
  service: string;
  serviceLabel: string;
  bucket: CsiBucket;
  query: Query;
}

export class DrillDown {
  private readonly dialog = byId<HTMLDialogElement>('drill');
  private readonly title = byId('drill-title');
  private readonly body = byId('drill-body');
  private readonly crumbs = byId('drill-crumbs');
  private target: Target | undefined;

  constructor(
    private readonly meta: Meta,
    private readonly timeZone: string | undefined,
  ) {}

  private span(b: CsiBucket): string {
    return `${formatClock(Date.parse(b.start), this.timeZone)}–${formatClock(Date.parse(b.end), this.timeZone)}`;
  }

  private where(t: Target): string {
    return [t.serviceLabel, t.query.region || 'all regions', t.query.segment || null].filter(Boolean).join(' · ');
  }

  open(target: Target): void {
    this.target = target;
    this.showCsi();
    if (!this.dialog.open) this.dialog.showModal();
  }

  private setLevel(level: string, title: string, crumbs: Array<[string, () => void]>): void {
    this.dialog.dataset.level = level;
    this.title.textContent = title;
    this.crumbs.replaceChildren(
      ...crumbs
        .flatMap(([label, go], i) => [
          i > 0 ? h('span', { class: 'sep', 'aria-hidden': 'true' }, '›') : null,
          i < crumbs.length - 1
            ? h('button', { type: 'button', class: 'crumb', onclick: go }, label)
            : h('span', { class: 'crumb current' }, label),
        ])
        .filter((n): n is HTMLElement => n !== null),
    );
  }

  private csiCrumb(t: Target): [string, () => void] {
    return [`CSI ${this.span(t.bucket)}`, () => this.showCsi()];
  }

  private showCsi(): void {
    const t = this.target;
    if (!t) return;
    const b = t.bucket;
    this.setLevel('csi', `CSI ${formatScore(b.csi)} · ${this.where(t)} · ${this.span(b)}`, [this.csiCrumb(t)]);
    const rows = b.contributions
      .slice()
      .sort((x, y) => y.pointsLost - x.pointsLost)
      .map((c) =>
        h(
          'tr',
          {},
          h(
            'td',
            {},
            h('button', { type: 'button', class: 'link', 'data-kqi': c.kqi, onclick: () => this.showKqi(c.kqi) }, c.label),
          ),
          h('td', { class: 'num' }, formatScore(c.score)),
          h('td', { class: 'num' }, `${Math.round(c.weightShare * 100)}%`),
          h(
            'td',
            { class: 'num lost', 'data-points-lost': String(c.pointsLost) },
            c.score === null ? 'no data' : c.pointsLost.toFixed(1),
          ),
        ),
      );
    this.body.replaceChildren(
      h('p', { class: 'explanation' }, b.explanation),
      h(
        'table',
        { class: 'drill-table' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'KQI'), h('th', {}, 'score'), h('th', {}, 'weight'), h('th', {}, 'CSI points lost')),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private showKqi(kqiName: string): void {
    const t = this.target;
    if (!t) return;
    const kqi: KqiScore | undefined = t.bucket.kqis.find((k) => k.kqi === kqiName);
    if (!kqi) return;
    this.setLevel('kqi', `${kqi.label} ${formatScore(kqi.score)} · ${this.where(t)} · ${this.span(t.bucket)}`, [
      this.csiCrumb(t),
      [kqi.label, () => this.showKqi(kqiName)],
    ]);
    const rows = kqi.kpis
      .slice()
      .sort((x, y) => y.csiPointsLost - x.csiPointsLost)
      .map((k) =>
        h(
          'tr',
          {},
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', class: 'link', 'data-kpi': k.kpi, onclick: () => void this.showEvents(kqi, k.kpi, true) },
              k.label,
            ),
          ),
          h('td', { class: 'num' }, formatKpi(k.value, k.unit)),
          h('td', { class: 'num' }, formatKpi(k.best, k.unit)),
          h('td', { class: 'num' }, formatKpi(k.worst, k.unit)),
          h('td', { class: 'num' }, formatScore(k.score)),
          h('td', { class: 'num lost' }, k.score === null ? 'no data' : k.csiPointsLost.toFixed(1)),
        ),
      );
    this.body.replaceChildren(
      h(
        'p',
        { class: 'explanation' },
        `Coverage ${Math.round(kqi.coverage * 100)}%. Click a KPI for the raw events of this window.`,
      ),
      h(
        'table',
        { class: 'drill-table' },
        h('thead', {}, h('tr', {}, ...['KPI', 'value', 'best', 'worst', 'score', 'CSI points lost'].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private async showEvents(kqi: KqiScore, kpi: string, problemOnly: boolean): Promise<void> {
    const t = this.target;
    if (!t) return;
    const info = this.meta.kpis[kpi];
    const source = info?.source ?? 'probe';
    const label = kqi.kpis.find((k) => k.kpi === kpi)?.label ?? kpi;
    this.setLevel('events', `Raw ${source} events · ${this.where(t)} · ${this.span(t.bucket)}`, [
      this.csiCrumb(t),
      [kqi.label, () => this.showKqi(kqi.kqi)],
      [`${label} · ${source} events`, () => void this.showEvents(kqi, kpi, problemOnly)],
    ]);
    this.body.replaceChildren(h('p', { class: 'muted' }, 'Loading raw events…'));
    try {
      const res = await loadRawEvents({
        source,
        service: t.service,
        region: t.query.region,
        segment: t.query.segment,
        from: t.bucket.start,
        to: t.bucket.end,
        problem: problemOnly,
      });
      const fields =
        FIELDS[source] ?? [...new Set(res.events.flatMap((e) => Object.keys(e.payload)))].filter((f) => !COMMON.has(f));
      const toggle = h(
        'button',
        {
          type: 'button',
          class: 'toggle',
          'data-toggle': 'problems',
          onclick: () => void this.showEvents(kqi, kpi, !problemOnly),
        },
        problemOnly ? `show all ${res.total} events` : `only problems (${res.problems})`,
      );
      const summary = `${res.problems} problem${res.problems === 1 ? '' : 's'}${res.problemMeaning ? ` (${res.problemMeaning})` : ''} of ${res.total} events; showing ${res.events.length}.`;
      const rows = res.events.map((e) =>
        h(
          'tr',
          { class: e.problem ? 'problem' : '', 'data-event-id': e.eventId, 'data-problem': String(e.problem) },
          h('td', {}, e.problem ? '⚠' : ''),
          h('td', {}, new Date(e.ts).toLocaleTimeString('en-GB', { hour12: false, timeZone: this.timeZone })),
          h('td', {}, e.region),
          ...fields.map((f) => h('td', {}, cell(e.payload[f]))),
          h('td', { class: 'muted' }, e.eventId),
        ),
      );
      this.body.replaceChildren(
        h(
          'p',
          { class: 'explanation', 'data-events-total': String(res.total), 'data-events-problems': String(res.problems) },
          summary,
          ' ',
          toggle,
        ),
        h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'drill-table events' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, ''),
                h('th', {}, 'time'),
                h('th', {}, 'region'),
                ...fields.map((f) => h('th', {}, f)),
                h('th', {}, 'event id'),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
        ),
      );
    } catch (err) {
      const message = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
      this.body.replaceChildren(h('p', { class: 'error' }, `Raw events could not be read — ${message}`));
    }
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'string') return v.length > 120 ? `${v.slice(0, 117)}…` : v;
  return JSON.stringify(v);
}
