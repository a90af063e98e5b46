/// <reference lib="dom" />

import { availabilityChart, csiChart, socialChart } from './charts.ts';
import { h } from './dom.ts';
import {
  formatClock,
  formatCount,
  formatNps,
  formatPct,
  formatRatio,
  formatScore,
  formatSeconds,
  formatZ,
  NO_DATA,
  SURGE_Z,
} from './format.ts';
import type { Meta, ServiceData } from './types.ts';

/**
 * One service's row of vital signs. Every figure is a "tile" carrying the raw API value
 * (data-value) and where it came from (data-bucket), so what the screen shows can be
 * checked against the API by a person or a test.
 */

export interface CardContext {
  meta: Meta;
  timeZone: string | undefined;
  onDrill: (service: string, bucketIndex: number) => void;
}

const score = (v: number | null): string => (v === null ? 'none' : v >= 80 ? 'good' : v >= 60 ? 'warn' : 'bad');
const scoreWord: Record<string, string> = { good: 'good', warn: 'watch', bad: 'poor', none: 'no data' };

function tile(metric: string, label: string, value: number | null | undefined, text: string, extra: Record<string, string> = {}) {
  return h(
    'div',
    { class: 'tile', 'data-metric': metric, 'data-value': value === null || value === undefined ? '' : String(value), ...extra },
    h('span', { class: 'tile-label' }, label),
    h('span', { class: 'tile-value' }, text),
  );
}

/** The newest bucket where `pick` has a value, with its start. */
function latest<T>(buckets: readonly T[], pick: (b: T) => number | null | undefined): { bucket: T; value: number } | undefined {
  for (let i = buckets.length - 1; i >= 0; i -= 1) {
    const b = buckets[i] as T;
    const v = pick(b);
    if (v !== null && v !== undefined) return { bucket: b, value: v };
  }
  return undefined;
}

export function renderCard(data: ServiceData, ctx: CardContext): { element: HTMLElement; drawCharts: () => void } {
  const info = ctx.meta.services.find((s) => s.name === data.service);
  const clock = (iso: string) => formatClock(Date.parse(iso), ctx.timeZone);
  const buckets = data.csi.buckets;
  const labels = buckets.map((b) => clock(b.start));

  // CSI: the newest bucket, with its change from the one before.
  const last = buckets.at(-1);
  const before = buckets.at(-2);
  const delta = last?.csi !== null && last?.csi !== undefined && before?.csi != null ? last.csi - before.csi : null;
  const csiTile = h(
    'button',
    {
      class: `tile tile-csi ${score(last?.csi ?? null)}`,
      type: 'button',
      'data-metric': 'csi',
      'data-value': last?.csi == null ? '' : String(last.csi),
      'data-bucket': last?.start ?? '',
      title: 'Explain this value: which KQIs cost the points',
      onclick: () => {
        if (buckets.length > 0) ctx.onDrill(data.service, buckets.length - 1);
      },
    },
    h('span', { class: 'tile-label' }, 'CSI'),
    h('span', { class: 'tile-value big' }, formatScore(last?.csi)),
    h(
      'span',
      { class: 'tile-sub' },
      h('span', {}, delta === null ? '' : `${delta < 0 ? '▼' : delta > 0 ? '▲' : '■'} ${Math.abs(delta).toFixed(1)} vs previous`),
      h('span', {}, last ? `${clock(last.start)}–${clock(last.end)}` : 'no data'),
      last && last.coverage < 1 ? h('span', {}, `coverage ${Math.round(last.coverage * 100)}%`) : null,
    ),
  );
  const csiCanvas = h('canvas', {
    class: 'chart-csi',
    'aria-label': `CSI trend of ${data.service}; click a point to explain it`,
    role: 'img',
  });

  // KQI breakdown of the newest bucket, worst first by points lost.
  const kqiRows = (last?.contributions ?? [])
    .slice()
    .sort((a, b) => b.pointsLost - a.pointsLost)
    .map((c) =>
      h(
        'div',
        { class: `kqi ${score(c.score)}`, 'data-metric': `kqi:${c.kqi}`, 'data-value': c.score === null ? '' : String(c.score) },
        h('span', { class: 'kqi-label' }, c.label),
        h('span', { class: 'kqi-bar' }, h('span', { class: 'kqi-fill', style: `width:${Math.round(c.score ?? 0)}%` })),
        h('span', { class: 'kqi-score' }, formatScore(c.score)),
        h('span', { class: 'sr-only' }, scoreWord[score(c.score)]),
      ),
    );

  // Serviceability beside Availability over the whole range (sums of counts, from the API).
  const av = data.availability;
  const gap =
    av && av.total.serviceability !== null && av.total.availability !== null
      ? (av.total.availability - av.total.serviceability) * 100
      : null;
  const retroactive = (av?.maintenance ?? []).filter((m) => m.retroactive);
  const now = Date.now();
  const maintenanceNow = (av?.maintenance ?? []).filter((m) => Date.parse(m.start) <= now && now < Date.parse(m.end));
  const availCanvas = h('canvas', {
    class: 'chart-avail',
    role: 'img',
    'aria-label': `Serviceability and Availability of ${data.service}`,
  });
  const availBlock = av
    ? h(
        'div',
        { class: 'section avail' },
        h('h3', {}, 'Serviceability vs Availability'),
        h(
          'div',
          { class: 'tiles' },
          tile('serviceability', 'Serviceability', av.total.serviceability, formatRatio(av.total.serviceability, 2), {
            'data-range': 'total',
          }),
          tile('availability', 'Availability', av.total.availability, formatRatio(av.total.availability, 2), {
            'data-range': 'total',
          }),
          tile('gap', 'gap', gap, gap === null ? NO_DATA : `${gap.toFixed(2)} pts`),
        ),
        h('div', { class: 'chart-box small' }, availCanvas),
        retroactive.length > 0
          ? h(
              'p',
              { class: 'flag retro', 'data-flag': 'retroactive' },
              `⚠ retroactive maintenance: ${retroactive.map((m) => `${m.maintenanceId}${m.region ? ` (${m.region})` : ''}${m.excused ? ', excused' : ', not excused'}`).join('; ')}`,
            )
          : null,
      )
    : h(
        'div',
        { class: 'section avail' },
        h('h3', {}, 'Serviceability vs Availability'),
        h('p', { class: 'muted' }, 'Not per segment: probes carry no segment.'),
      );

  // Contact centre, surveys and social: the newest bucket that has each figure.
  const kb = data.kpis.buckets;
  const kpiTile = (metric: string, label: string, fmt: (v: number | null) => string) => {
    const found = latest(kb, (b) => b.kpis[metric]);
    return tile(metric, label, found?.value ?? null, fmt(found?.value ?? null), { 'data-bucket': found?.bucket.start ?? '' });
  };
  const surge = latest(kb, (b) => b.kpis.social_surge);
  const surging = surge !== undefined && surge.value >= SURGE_Z && surge.bucket === kb.at(-1);
  const socialCanvas = h('canvas', { class: 'chart-social', role: 'img', 'aria-label': `Social mentions of ${data.service}` });

  const maintenance = av?.maintenance ?? [];
  const maintBlock = h(
    'div',
    { class: 'section maint' },
    h('h3', {}, 'Maintenance'),
    maintenance.length === 0
      ? h('p', { class: 'muted' }, 'none in range')
      : h(
          'ul',
          {},
          ...maintenance.map((m) =>
            h(
              'li',
              { class: maintenanceNow.includes(m) ? 'now' : 'recent', 'data-maintenance': m.maintenanceId },
              h('strong', {}, maintenanceNow.includes(m) ? 'NOW ' : Date.parse(m.start) > now ? 'UPCOMING ' : ''),
              `${m.maintenanceId} · ${m.region ?? 'all regions'} · ${clock(m.start)}–${clock(m.end)}`,
              m.retroactive ? h('span', { class: 'badge retro' }, '⚠ retroactive') : h('span', { class: 'badge' }, 'planned'),
              // Imported history (a maintenance-history token): the claimed declaration time is shown beside the receipt.
              m.backdated
                ? h(
                    'span',
                    { class: 'badge backdated', title: `declared ${m.declaredAt}, received ${m.receivedAt}` },
                    `back-dated: declared ${clock(m.declaredAt)}, received ${clock(m.receivedAt)}`,
                  )
                : null,
            ),
          ),
        ),
  );

  const element = h(
    'article',
    { class: 'card', 'data-service': data.service },
    h(
      'header',
      { class: 'card-head' },
      h('h2', {}, info?.label ?? data.service),
      info && info.partners.length > 0 ? h('span', { class: 'partners' }, `partners: ${info.partners.join(', ')}`) : null,
      maintenanceNow.length > 0 ? h('span', { class: 'badge now' }, '🛠 maintenance now') : null,
      surging ? h('span', { class: 'badge surge', 'data-flag': 'surge' }, `▲ social surge ${formatZ(surge?.value)}`) : null,
    ),
    h('div', { class: 'section csi' }, csiTile, h('div', { class: 'chart-box' }, csiCanvas)),
    h(
      'div',
      { class: 'section kqis' },
      h('h3', {}, 'KQIs (newest bucket)'),
      ...(kqiRows.length > 0 ? kqiRows : [h('p', { class: 'muted' }, 'no data')]),
    ),
    availBlock,
    h(
      'div',
      { class: 'section contact' },
      h('h3', {}, 'Contact centre'),
      h(
        'div',
        { class: 'tiles' },
        kpiTile('offered', 'offered', formatCount),
        kpiTile('asa_sec', 'ASA', formatSeconds),
        kpiTile('service_level', 'service level', (v) => formatRatio(v)),
        kpiTile('abandonment_rate', 'abandoned', (v) => formatRatio(v)),
      ),
    ),
    h(
      'div',
      { class: 'section voice' },
      h('h3', {}, 'Customer voice'),
      h(
        'div',
        { class: 'tiles' },
        kpiTile('nps', 'NPS', formatNps),
        kpiTile('csat', 'CSAT', formatPct),
        kpiTile('social_volume', 'posts', formatCount),
        kpiTile('social_surge', 'surge', formatZ),
      ),
      h('div', { class: 'chart-box tiny' }, socialCanvas),
    ),
    maintBlock,
  );

  const drawCharts = () => {
    csiChart(
      csiCanvas,
      labels,
      buckets.map((b) => b.csi),
      (i) => ctx.onDrill(data.service, i),
    );
    if (av) {
      availabilityChart(
        availCanvas,
        av.buckets.map((b) => clock(b.start)),
        av.buckets.map((b) => b.serviceability),
        av.buckets.map((b) => b.availability),
        av.buckets.map((b) => b.retroactiveAttempts > 0),
      );
    }
    socialChart(
      socialCanvas,
      kb.map((b) => clock(b.start)),
      kb.map((b) => b.kpis.social_volume ?? null),
      kb.map((b) => (b.kpis.social_surge ?? 0) >= SURGE_Z),
    );
  };
  return { element, drawCharts };
}
