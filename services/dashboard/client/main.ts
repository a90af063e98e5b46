/// <reference lib="dom" />

import { ApiError, loadGoals, loadMeta, loadService } from './api.ts';
import { renderCard } from './card.ts';
import { destroyCharts } from './charts.ts';
import { byId, h } from './dom.ts';
import { DrillDown } from './drilldown.ts';
import { IncidentsPanel } from './incidents.ts';
import { LiveStatus } from './live.ts';
import { renderOverview } from './overview.ts';
import { queryFor } from './query.ts';
import type { Meta, Query, ServiceData } from './types.ts';

/**
 * The page's loop: read the filters from the URL, load every shown service from the read
 * API, render, and refresh when the live stream says windows landed (debounced) or once
 * a minute to move the time range along. `?tz=UTC` shows times in UTC (default: the
 * viewer's zone).
 */

const MIN_REFRESH_GAP_MS = 3000;
const PERIODIC_REFRESH_MS = 60_000;

const params = () => new URLSearchParams(location.search);
const timeZone = params().get('tz') ?? undefined;
const servicesEl = byId('services');
const overviewEl = byId('overview');
const form = byId<HTMLFormElement>('filters');

let meta: Meta;
let drill: DrillDown;
let live: LiveStatus;
const incidents = new IncidentsPanel(byId('incidents'), timeZone);
let current: { query: Query; data: Map<string, ServiceData> } | undefined;
let refreshing = false;
let pending = false;
let lastRefreshAt = 0;
let timer: number | undefined;

function fillSelect(name: string, options: Array<[string, string]>): void {
  const select = form.elements.namedItem(name) as HTMLSelectElement;
  const keep = select.options[0];
  select.replaceChildren(...(keep ? [keep] : []), ...options.map(([value, label]) => h('option', { value }, label)));
  select.value = params().get(name) ?? '';
}

function syncForm(): void {
  const p = params();
  const range = form.querySelector<HTMLInputElement>(`input[name="range"][value="${p.get('range') ?? '1h'}"]`);
  if (range) range.checked = true;
}

function onFilterChange(): void {
  const data = new FormData(form);
  const p = new URLSearchParams();
  for (const key of ['region', 'segment', 'product', 'range']) {
    const v = String(data.get(key) ?? '');
    if (v) p.set(key, v);
  }
  if (timeZone) p.set('tz', timeZone);
  history.replaceState(null, '', `${location.pathname}?${p}`);
  void refresh();
}

function openDrill(service: string, index: number): void {
  const data = current?.data.get(service);
  const bucket = data?.csi.buckets[index];
  if (!current || !bucket) return;
  const label = meta.services.find((s) => s.name === service)?.label ?? service;
  drill.open({ service, serviceLabel: label, bucket, query: current.query });
}

async function refresh(): Promise<void> {
  if (refreshing) {
    pending = true;
    return;
  }
  refreshing = true;
  lastRefreshAt = Date.now();
  try {
    const query = queryFor(params(), Date.now());
    const product = meta.products.find((p) => p.name === query.product);
    const shown = meta.services.filter((s) => !product || product.services.includes(s.name));
    const [results, goals] = await Promise.all([
      Promise.allSettled(shown.map((s) => loadService(query, s.name))),
      loadGoals().catch(() => null),
    ]);
    destroyCharts();
    const data = new Map<string, ServiceData>();
    const cards: HTMLElement[] = [];
    const draws: Array<() => void> = [];
    results.forEach((r, i) => {
      const name = shown[i]?.name ?? '?';
      if (r.status === 'fulfilled') {
        data.set(name, r.value);
        const card = renderCard(r.value, { meta, timeZone, onDrill: openDrill });
        cards.push(card.element);
        draws.push(card.drawCharts);
      } else {
        const why = r.reason instanceof ApiError ? `${r.reason.code}: ${r.reason.message}` : String(r.reason);
        cards.push(
          h('article', { class: 'card error', 'data-service': name }, h('h2', {}, name), h('p', { class: 'error' }, why)),
        );
      }
    });
    current = { query, data };
    servicesEl.replaceChildren(
      ...(cards.length > 0 ? cards : [h('p', { class: 'placeholder' }, 'No service matches these filters.')]),
    );
    for (const draw of draws) draw();
    overviewEl.replaceChildren(...renderOverview(goals, [...data.values()], timeZone));
    // Not awaited: the incidents panel must not hold back the vital signs.
    void incidents.refresh(query.region);
    servicesEl.setAttribute('aria-busy', 'false');
    Object.assign(document.body.dataset, {
      state: 'ready',
      from: String(query.from),
      to: String(query.to),
      step: String(query.stepSec),
      region: query.region,
      segment: query.segment,
      refreshes: String(Number(document.body.dataset.refreshes ?? '0') + 1),
      refreshedAt: String(Date.now()),
    });
  } catch (err) {
    document.body.dataset.state = 'error';
    servicesEl.replaceChildren(h('p', { class: 'error' }, `Could not load the vital signs: ${String(err)}`));
  } finally {
    refreshing = false;
    if (pending) {
      pending = false;
      scheduleRefresh();
    }
  }
}

/** Refreshes soon, but not more often than every few seconds however many windows land. */
function scheduleRefresh(): void {
  if (timer !== undefined) return;
  const wait = Math.max(0, lastRefreshAt + MIN_REFRESH_GAP_MS - Date.now());
  timer = window.setTimeout(() => {
    timer = undefined;
    void refresh();
  }, wait);
}

async function start(): Promise<void> {
  try {
    meta = await loadMeta();
  } catch (err) {
    const why = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    servicesEl.replaceChildren(h('p', { class: 'error' }, `Could not load the dashboard's settings (${why}); retrying in 10 s.`));
    setTimeout(() => void start(), 10_000);
    return;
  }
  fillSelect(
    'region',
    meta.regions.map((r) => [r, r]),
  );
  fillSelect(
    'segment',
    meta.segments.map((s) => [s, s]),
  );
  fillSelect(
    'product',
    meta.products.map((p) => [p.name, p.label]),
  );
  syncForm();
  form.addEventListener('change', onFilterChange);
  form.addEventListener('submit', (e) => e.preventDefault());
  drill = new DrillDown(meta, timeZone);
  live = new LiveStatus(() => scheduleRefresh(), timeZone);
  live.connect();
  live.on('incident', () => scheduleRefresh());
  await refresh();
  setInterval(scheduleRefresh, PERIODIC_REFRESH_MS);
}

void start();
