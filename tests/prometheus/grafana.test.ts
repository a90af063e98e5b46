import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { readHeaders } from '../support/auth.ts';
import { requireSystem } from '../support/system.ts';
import { hasPrometheus, type PrometheusServer, startPipelineWith, startPrometheus } from './harness.ts';

/**
 * deploy/grafana/cxvitals-dashboard.json: a well-formed dashboard whose Prometheus
 * queries name only metrics a running cxvitals exports and are accepted by a real
 * Prometheus, and whose ClickHouse queries (Grafana macros filled in) run against the
 * embedded ClickHouse with the project's own migrations.
 */

interface Target {
  datasource: { type: string; uid: string };
  refId: string;
  expr?: string;
  rawSql?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  __inputs: Array<{ name: string; pluginId: string }>;
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
  panels: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../deploy/grafana/cxvitals-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;
const targets = dashboard.panels.flatMap((p) => p.targets ?? []);
const promTargets = targets.filter((t) => t.datasource.type === 'prometheus');
const sqlTargets = targets.filter((t) => t.datasource.type === 'grafana-clickhouse-datasource');
/** Grafana's datasource variables (its own `${…}` syntax, not a JavaScript template). */
const DATASOURCE_UIDS = ['$' + '{DS_PROMETHEUS}', '$' + '{DS_CLICKHOUSE}'];
/** Series Prometheus makes itself, not cxvitals. */
const PROMETHEUS_OWN = new Set(['ALERTS', 'up']);

/** Metric names in a PromQL expression: identifiers (outside label lists) followed by a selector, a range or the end of an argument. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of withoutStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[|\)|$)/g)) {
    const name = m[1] ?? '';
    names.add(name);
  }
  return [...names];
}

/** Grafana's variables and ClickHouse macros, filled the way Grafana would for "All" over the last 6 hours. */
const fillSql = (sql: string): string =>
  sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, '$1 >= now() - INTERVAL 6 HOUR AND $1 <= now()')
    .replaceAll('$__fromTime', '(now() - INTERVAL 6 HOUR)')
    .replaceAll('$__toTime', 'now()')
    .replace(/\$\{(service|region):regex\}/g, '.*');
const fillPromQl = (expr: string): string => expr.replaceAll('$service', '.*').replaceAll('$region', '.*');

describe('Grafana dashboard (deploy/grafana)', () => {
  it('is a dashboard with unique panel ids, a 24-column grid and a datasource on every query', () => {
    expect(dashboard.uid).toBe('cxvitals-vital-signs');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs.map((i) => i.pluginId).sort()).toEqual(['grafana-clickhouse-datasource', 'prometheus']);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.title, `panel ${p.id}`).toBeTruthy();
      expect(p.gridPos.x + p.gridPos.w, `${p.title} fits 24 columns`).toBeLessThanOrEqual(24);
      expect(p.gridPos.h).toBeGreaterThan(0);
      if (p.type === 'row') continue;
      expect(['timeseries', 'stat', 'bargauge', 'table']).toContain(p.type);
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(DATASOURCE_UIDS).toContain(t.datasource.uid);
        expect(t.expr ?? t.rawSql, `${p.title} ${t.refId}`).toBeTruthy();
      }
    }
    expect(promTargets.length).toBeGreaterThanOrEqual(15);
    expect(sqlTargets.length).toBeGreaterThanOrEqual(4);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['DS_PROMETHEUS', 'DS_CLICKHOUSE', 'service', 'region']);
  });

  it('reads only tables that the sql/ migrations create', () => {
    const created = new Set(
      readdirSync(new URL('../../sql/', import.meta.url))
        .filter((f) => f.endsWith('.sql'))
        .flatMap((f) => [
          ...readFileSync(new URL(`../../sql/${f}`, import.meta.url), 'utf8').matchAll(
            /CREATE TABLE IF NOT EXISTS \{\{db\}\}\.(\w+)/g,
          ),
        ])
        .map((m) => m[1]),
    );
    for (const t of sqlTargets) {
      for (const m of (t.rawSql ?? '').matchAll(/cxvitals\.(\w+)/g)) expect(created, `table ${m[1]}`).toContain(m[1]);
    }
  });
});

const run = requireSystem(
  'Prometheus server',
  hasPrometheus(),
  'install the Debian package "prometheus" (apt-get install prometheus)',
);

describe.skipIf(!run)('Grafana dashboard against a running cxvitals and Prometheus', () => {
  let pipeline: Pipeline | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    pipeline = await startPipelineWith({}, { dashboard: { gaugeIntervalMs: 1000 } });
    prometheus = await startPrometheus(new URL(pipeline.url).host.replace('localhost', '127.0.0.1'), 'groups: []\n');
  }, 120_000);
  afterAll(async () => {
    await prometheus?.stop();
    await pipeline?.stop();
  }, 60_000);

  it('queries only metrics that /metrics exports', async () => {
    const text = await (await fetch(`${pipeline?.url}/metrics`, { headers: readHeaders() })).text();
    const exported = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    const used = new Set(promTargets.flatMap((t) => metricNames(t.expr ?? '')));
    for (const v of dashboard.templating.list) {
      const metric = /label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(JSON.stringify(v.query))?.[1];
      if (metric) used.add(metric);
    }
    expect(used.size).toBeGreaterThanOrEqual(15);
    for (const name of used) {
      if (PROMETHEUS_OWN.has(name)) continue;
      const histogram = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      const known = exported.has(name) || (histogram !== undefined && exported.get(histogram) === 'histogram');
      expect(known, `metric ${name} used by the dashboard is not on /metrics`).toBe(true);
    }
  });

  it('has PromQL that a real Prometheus accepts', async () => {
    for (const t of promTargets) {
      const res = await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(fillPromQl(t.expr ?? ''))}`);
      const body = (await res.json()) as { status: string; error?: string };
      expect(body.status, `${t.expr}: ${body.error ?? ''}`).toBe('success');
    }
  });

  it('has ClickHouse SQL that runs against the cxvitals tables', async () => {
    const store = (pipeline as Pipeline).store;
    for (const t of sqlTargets) {
      const sql = fillSql(t.rawSql ?? '').replaceAll('cxvitals.', `${store.database}.`);
      expect(sql).not.toMatch(/\$(__|\{)/);
      await expect(store.query(sql), sql).resolves.toBeInstanceOf(Array);
    }
  });
});
