import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_PATH, loadModel, ModelError, watchModel } from '../../services/model/load.ts';
import { parseModel } from '../../services/model/model.ts';
import type { CxModel, ModelIssue } from '../../services/model/types.ts';
import { SMALL_MODEL } from './fixtures.ts';

/** The issues of a model text that must not load. */
function issuesOf(text: string): ModelIssue[] {
  const result = parseModel(text);
  if (result.ok) throw new Error('expected the model to be rejected');
  return result.issues;
}

const edit = (from: string, to: string) => {
  if (!SMALL_MODEL.includes(from)) throw new Error(`fixture has no "${from}"`);
  return SMALL_MODEL.replace(from, to);
};

describe('the shipped model file', () => {
  it('loads, with its version and a content hash, the five example KQIs and a catalog', async () => {
    const m = await loadModel(DEFAULT_MODEL_PATH);
    expect(m.version).toBe(1);
    expect(m.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(m.kqis.map((k) => k.name)).toEqual([
      'network_quality',
      'service_availability',
      'care_responsiveness',
      'care_effectiveness',
      'customer_voice',
    ]);
    expect(m.kpis.asa_sec).toMatchObject({ best: 20, worst: 300, label: 'ASA' });
    expect(m.catalog.customerServices.map((c) => c.name)).toEqual(['mobile-data', 'voice', 'broadband', 'iptv']);
  });
});

describe('parseModel', () => {
  it('fills labels from names and the KPI catalog, and suppliers from "internal" or a partner name', () => {
    const result = parseModel(`${SMALL_MODEL}
catalog:
  resourceServices:
    - { name: access, supplier: internal }
    - { name: backhaul, supplier: Northline Wholesale }
  customerServices:
    - { name: broadband, resources: [access, backhaul] }
  products:
    - { name: home, services: [broadband] }
`);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const m = result.model;
    expect(m.kqis[0]?.label).toBe('care responsiveness');
    expect(m.kpis.service_level?.label).toBe('service level');
    expect(m.catalog.resourceServices).toEqual([
      { name: 'access', label: 'access', supplier: { kind: 'internal' } },
      { name: 'backhaul', label: 'backhaul', supplier: { kind: 'partner', partner: 'Northline Wholesale' } },
    ]);
    expect(m.catalog.customerServices[0]?.supplier).toEqual({ kind: 'internal' });
  });

  it('hashes content, not layout: comments and key order keep the hash, a changed value changes it', () => {
    const base = parseModel(SMALL_MODEL);
    const relaid = parseModel(
      `# a comment\n${edit('asa_sec: { best: 20, worst: 300 }', 'asa_sec: { worst: 300, best: 20 }  # swapped keys')}`,
    );
    const changed = parseModel(edit('asa_sec: { best: 20, worst: 300 }', 'asa_sec: { best: 20, worst: 240 }'));
    if (!base.ok || !relaid.ok || !changed.ok) throw new Error('fixtures must load');
    expect(relaid.model.hash).toBe(base.model.hash);
    expect(changed.model.hash).not.toBe(base.model.hash);
  });

  it('rejects a KQI that references a KPI with no best/worst, at the reference', () => {
    expect(issuesOf(edit('- { kpi: nps, weight: 1 }', '- { kpi: fcr, weight: 1 }'))).toEqual([
      { code: 'unknown_kpi', path: 'kqis[1].kpis[0].kpi', message: 'KPI "fcr" has no best/worst: declare it under kpis' },
    ]);
  });

  it('rejects a KPI the pipeline does not compute', () => {
    const issues = issuesOf(edit('nps: { best: 60, worst: -20 }', 'npss: { best: 60, worst: -20 }'));
    expect(issues.map((i) => [i.code, i.path])).toEqual([
      ['unknown_kpi', 'kpis.npss'],
      ['unknown_kpi', 'kqis[1].kpis[0].kpi'],
    ]);
    expect(issues[0]?.message).toMatch(/^no KPI named "npss"; known KPIs: test_success_rate, /);
  });

  it('rejects weights ≤ 0 at their path', () => {
    const issues = issuesOf(
      edit('- { kpi: asa_sec, weight: 2 }', '- { kpi: asa_sec, weight: 0 }').replace('weight: 1 }\n', 'weight: -1 }\n'),
    );
    expect(issues.map((i) => i.path)).toEqual(['kqis[0].kpis[0].weight', 'kqis[0].kpis[2].weight']);
    expect(issues[0]?.message).toBe('weights must be greater than 0');
  });

  it('rejects best = worst', () => {
    expect(issuesOf(edit('csat: { best: 90, worst: 50 }', 'csat: { best: 70, worst: 70 }'))).toEqual([
      { code: 'custom', path: 'kpis.csat.worst', message: 'best and worst must differ (the score would divide by 0)' },
    ]);
  });

  it('rejects best and worst the wrong way round for the KPI’s direction', () => {
    const issues = issuesOf(edit('asa_sec: { best: 20, worst: 300 }', 'asa_sec: { best: 300, worst: 20 }'));
    expect(issues).toEqual([
      {
        code: 'best_worse_than_worst',
        path: 'kpis.asa_sec',
        message: 'lower asa_sec is better, so best (300) must be below worst (20)',
      },
    ]);
  });

  it('rejects duplicate KQI names, a KPI listed twice in a KQI, and CSI references to unknown KQIs', () => {
    const text = edit('- name: customer_voice', '- name: care_responsiveness')
      .replace('- { kpi: csat, weight: 1 }', '- { kpi: nps, weight: 1 }')
      .replace(
        '- { kqi: customer_voice, weight: 1 }',
        '- { kqi: customer_voice, weight: 1 }\n    - { kqi: customer_voice, weight: 1 }',
      );
    expect(issuesOf(text).map((i) => `${i.code} ${i.path}`)).toEqual([
      'duplicate_name kqis[1].name',
      'duplicate_reference kqis[1].kpis[1].kpi',
      'unknown_kqi csi.kqis[1].kqi',
      'duplicate_reference csi.kqis[2].kqi',
      'unknown_kqi csi.kqis[2].kqi',
    ]);
  });

  it('rejects a service defined twice in the catalog, and references to services it does not define', () => {
    const issues = issuesOf(`${SMALL_MODEL}
catalog:
  resourceServices:
    - { name: access, supplier: internal }
  customerServices:
    - { name: broadband, resources: [access, backhaul, access] }
    - { name: access, resources: [] }
  products:
    - { name: home, services: [broadband, tv] }
`);
    expect(issues.map((i) => `${i.code} ${i.path}: ${i.message}`)).toEqual([
      'duplicate_name catalog.customerServices[1].name: "access" is already defined at catalog.resourceServices[0].name',
      'unknown_service catalog.customerServices[0].resources[1]: no resource-facing service named "backhaul" in the catalog',
      'duplicate_reference catalog.customerServices[0].resources[2]: resource-facing service "access" is listed twice in "broadband"',
      'unknown_service catalog.products[0].services[1]: no customer-facing service named "tv" in the catalog',
    ]);
  });

  it('rejects unknown keys (a typo is not silently ignored) and missing required fields', () => {
    const issues = issuesOf(edit('- { kpi: nps, weight: 1 }', '- { kpi: nps, wieght: 1 }'));
    expect(issues.map((i) => `${i.code} ${i.path}`)).toEqual([
      'invalid_type kqis[1].kpis[0].weight',
      'unrecognized_keys kqis[1].kpis[0]',
    ]);
  });

  it('accepts KPIs declared by sources when given them, with their label, unit and direction', () => {
    const text =
      `${edit('csat: { best: 90, worst: 50 }', 'csat: { best: 90, worst: 50 }\n  appreview_rating: { best: 4.5, worst: 2 }')}`.replace(
        '- { kpi: csat, weight: 1 }',
        '- { kpi: csat, weight: 1 }\n      - { kpi: appreview_rating, weight: 1 }',
      );
    expect(issuesOf(text).map((i) => `${i.code} ${i.path}`)).toEqual([
      'unknown_kpi kpis.appreview_rating',
      'unknown_kpi kqis[1].kpis[2].kpi',
    ]);
    const declared = [{ id: 'appreview_rating', label: 'app rating', unit: 'score' as const, better: 'higher' as const }];
    const result = parseModel(text, { extraKpis: declared });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.model.kpis.appreview_rating).toEqual({
      kpi: 'appreview_rating',
      label: 'app rating',
      unit: 'score',
      best: 4.5,
      worst: 2,
    });
    const swapped = text.replace('appreview_rating: { best: 4.5, worst: 2 }', 'appreview_rating: { best: 2, worst: 4.5 }');
    expect(parseModel(swapped, { extraKpis: declared })).toMatchObject({
      ok: false,
      issues: [{ code: 'best_worse_than_worst' }],
    });
    const shadowing = parseModel(SMALL_MODEL, { extraKpis: [{ ...declared[0], id: 'nps' } as (typeof declared)[0]] });
    expect(shadowing).toMatchObject({ ok: false, issues: [{ code: 'duplicate_kpi', path: '(declared KPIs)' }] });
  });

  it('reports YAML syntax errors with their line, including duplicate keys', () => {
    const issues = issuesOf('version: 1\nkpis:\n  nps: { best: 60, worst: -20 }\n  nps: { best: 50, worst: 0 }\n');
    expect(issues[0]?.code).toBe('yaml_syntax');
    expect(issues[0]?.path).toBe('line 4, column 3');
    expect(issues[0]?.message).toMatch(/unique/);
  });
});

describe('loadModel and watchModel', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const tempFile = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'cx-model-'));
    const file = join(dir, 'model.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('rejects a missing file with MODEL_UNREADABLE and an invalid one with MODEL_INVALID listing every issue', async () => {
    await expect(loadModel('/nonexistent/model.yaml')).rejects.toMatchObject({ code: 'MODEL_UNREADABLE' });
    const file = tempFile(edit('csat: { best: 90, worst: 50 }', 'csat: { best: 70, worst: 70 }'));
    const error = await loadModel(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).code).toBe('MODEL_INVALID');
    expect((error as ModelError).message).toBe(
      `${file} is not a valid CX model:\n  kpis.csat.worst: best and worst must differ (the score would divide by 0)`,
    );
  });

  it('calls onChange on a valid change, onError on an invalid one (keeping nothing half-applied), and stops', async () => {
    const file = tempFile(SMALL_MODEL);
    const first = await loadModel(file);
    const changes: CxModel[] = [];
    const errors: ModelError[] = [];
    const watch = watchModel(
      file,
      (m) => changes.push(m),
      (e) => errors.push(e),
      { intervalMs: 10, currentHash: first.hash },
    );
    try {
      const until = async (done: () => boolean) => {
        for (let i = 0; i < 3000 && !done(); i += 1) await new Promise((r) => setTimeout(r, 10));
        expect(done()).toBe(true);
      };
      writeFileSync(file, SMALL_MODEL.replace('version: 3', 'version: 4'));
      await until(() => changes.length === 1);
      expect(changes[0]?.version).toBe(4);

      writeFileSync(file, `${SMALL_MODEL.replace('version: 3', 'version: 5')}\nkpis: oops`);
      await until(() => errors.length === 1);
      expect(errors[0]?.code).toBe('MODEL_INVALID');
      expect(changes).toHaveLength(1);

      writeFileSync(file, SMALL_MODEL.replace('version: 3', 'version: 6'));
      await until(() => changes.length === 2);
      expect(changes[1]?.version).toBe(6);
    } finally {
      watch.stop();
    }
    writeFileSync(file, readFileSync(file, 'utf8').replace('version: 6', 'version: 7'));
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toHaveLength(2);
  });
});
