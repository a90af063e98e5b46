/**
 * From model text to a validated CxModel, with no I/O: YAML syntax, then the shape
 * (schema.ts), then the checks that need the whole file. Every problem is reported at
 * once, each at a path (`kqis[1].kpis[0].kpi`), so one edit-and-reload cycle fixes them all.
 */

import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { incidentSettings } from '../incidents/settings.ts';
import { KPI_CATALOG } from '../shared/kpi/catalog.ts';
import { compileCatalog } from './catalog.ts';
import { type ModelFile, modelFileSchema } from './schema.ts';
import type { CxModel, ExtraKpi, KpiScale, KqiDefinition, ModelIssue, ParseOptions, ParseResult } from './types.ts';

/** `['kqis', 0, 'kpis', 1, 'kpi']` → `kqis[0].kpis[1].kpi`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** A KQI name read as words: `care_responsiveness` → `care responsiveness`. */
export const labelOf = (name: string): string => name.replaceAll('_', ' ');

/**
 * Validates a model text. `extraKpis` are the KPIs declared by sources (schemas/sources/),
 * which a model may score like the built-in ones.
 */
export function parseModel(text: string, options: ParseOptions = {}): ParseResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        code: 'yaml_syntax',
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(root)',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  const shaped = modelFileSchema.safeParse(doc.toJS());
  if (!shaped.success) {
    return {
      ok: false,
      issues: shaped.error.issues.map((i) => ({ code: i.code, path: formatPath(i.path), message: i.message })),
    };
  }
  return compile(shaped.data, options.extraKpis ?? []);
}

/** The built-in KPIs and the declared ones, by id; a declared id may not shadow a built-in one. */
function knownKpis(extra: readonly ExtraKpi[], issue: (code: string, path: string, message: string) => void) {
  const known = new Map<string, Omit<ExtraKpi, 'id'>>(Object.entries(KPI_CATALOG));
  for (const k of extra) {
    if (known.has(k.id)) issue('duplicate_kpi', '(declared KPIs)', `declared KPI "${k.id}" has the id of a KPI already known`);
    else known.set(k.id, k);
  }
  return known;
}

function compile(file: ModelFile, extraKpis: readonly ExtraKpi[]): ParseResult {
  const issues: ModelIssue[] = [];
  const issue = (code: string, path: string, message: string) => issues.push({ code, path, message });
  const known = knownKpis(extraKpis, issue);

  const kpis: Record<string, KpiScale> = {};
  for (const [id, scale] of Object.entries(file.kpis)) {
    const info = known.get(id);
    if (!info) {
      issue('unknown_kpi', `kpis.${id}`, `no KPI named "${id}"; known KPIs: ${[...known.keys()].join(', ')}`);
      continue;
    }
    if (info.better === 'higher' && scale.best < scale.worst) {
      issue(
        'best_worse_than_worst',
        `kpis.${id}`,
        `higher ${id} is better, so best (${scale.best}) must exceed worst (${scale.worst})`,
      );
    } else if (info.better === 'lower' && scale.best > scale.worst) {
      issue(
        'best_worse_than_worst',
        `kpis.${id}`,
        `lower ${id} is better, so best (${scale.best}) must be below worst (${scale.worst})`,
      );
    }
    kpis[id] = { kpi: id, label: scale.label ?? info.label, unit: info.unit, best: scale.best, worst: scale.worst };
  }

  const kqis: KqiDefinition[] = [];
  const kqiNames = new Set<string>();
  file.kqis.forEach((k, i) => {
    if (kqiNames.has(k.name)) issue('duplicate_name', `kqis[${i}].name`, `KQI "${k.name}" is defined more than once`);
    kqiNames.add(k.name);
    const seen = new Set<string>();
    const members: KqiDefinition['kpis'] = [];
    k.kpis.forEach((member, j) => {
      const path = `kqis[${i}].kpis[${j}].kpi`;
      if (seen.has(member.kpi)) issue('duplicate_reference', path, `KPI "${member.kpi}" is listed twice in KQI "${k.name}"`);
      seen.add(member.kpi);
      if (!known.has(member.kpi)) {
        issue('unknown_kpi', path, `no KPI named "${member.kpi}"`);
      } else if (!file.kpis[member.kpi]) {
        issue('unknown_kpi', path, `KPI "${member.kpi}" has no best/worst: declare it under kpis`);
      } else {
        members.push({ kpi: member.kpi, weight: member.weight });
      }
    });
    kqis.push({ name: k.name, label: k.label ?? labelOf(k.name), kpis: members });
  });

  const inCsi = new Set<string>();
  file.csi.kqis.forEach((member, i) => {
    const path = `csi.kqis[${i}].kqi`;
    if (inCsi.has(member.kqi)) issue('duplicate_reference', path, `KQI "${member.kqi}" is listed twice in the CSI`);
    inCsi.add(member.kqi);
    if (!kqiNames.has(member.kqi))
      issue('unknown_kqi', path, `no KQI named "${member.kqi}"; defined: ${[...kqiNames].join(', ')}`);
  });

  const catalog = compileCatalog(file.catalog, issue);
  if (issues.length > 0) return { ok: false, issues };

  const content = {
    version: file.version,
    description: file.description ?? null,
    kpis,
    kqis,
    csi: file.csi.kqis.map((m) => ({ kqi: m.kqi, weight: m.weight })),
    segments: file.segments,
    catalog,
    ...(file.incidents ? { incidents: incidentSettings(file.incidents) } : {}),
  };
  const hash = createHash('sha256').update(canonicalJson(content)).digest('hex');
  return { ok: true, model: { ...content, hash } satisfies CxModel };
}

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
