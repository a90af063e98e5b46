import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../services/shared/sources/avro.ts';
import { zodFromAvro } from '../../services/shared/sources/avro-zod.ts';
import { fieldErrors } from '../../services/shared/sources/common.ts';
import { loadDeclaredSource } from '../../services/shared/sources/declared.ts';
import { kpiContribution, kpiValue } from '../../services/shared/sources/declared-kpi.ts';
import {
  allSources,
  declaredKpis,
  getSource,
  isSourceName,
  loadDeclaredSources,
  SOURCES,
  type SourceName,
  sourceNames,
} from '../../services/shared/sources/registry.ts';
import { YamlFileError } from '../../services/shared/sources/yaml-file.ts';

/** Sources added by declaration: Avro → zod, the declaration file, the registry, KPI sums. */

const roles = { eventId: 'eventId', eventTime: 'ts', service: 'service', region: 'region' };

const base = [
  { name: 'eventId', type: 'string' },
  { name: 'ts', type: 'long' },
  { name: 'receivedAt', type: 'long' },
  { name: 'service', type: 'string' },
  { name: 'region', type: 'string', default: 'unknown' },
];

const record = (fields: object[]) => ({ type: 'record', name: 'Thing', namespace: 'test', fields: [...base, ...fields] });

function errorsOf(input: ReturnType<typeof zodFromAvro>['input'], value: unknown) {
  const r = input.safeParse(value);
  return r.success ? [] : fieldErrors(0, r.error).map((e) => [e.field, e.message]);
}

describe('the input validator generated from Avro', () => {
  const { input, fields } = zodFromAvro(
    record([
      { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['a', 'b'] } },
      { name: 'count', type: 'int' },
      { name: 'ratio', type: ['null', 'double'], default: null },
      { name: 'done', type: 'boolean', default: false },
      { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
      { name: 'again', type: ['null', 'Kind'], default: null },
      { name: 'origin', type: 'string', default: 'partner' },
    ]),
    roles,
    { count: { min: 0, max: 10 } },
  );
  const valid = { eventId: 'e1', ts: '2026-01-01T00:00:00Z', service: 's', kind: 'a', count: 3, at: 1_767_225_600_000 };

  it('requires fields without a default or null, and normalises times to epoch ms', () => {
    const r = input.safeParse(valid);
    expect(r.success && r.data).toMatchObject({ ts: 1_767_225_600_000, at: 1_767_225_600_000 });
    expect(errorsOf(input, {}).map(([f]) => f)).toEqual(['eventId', 'ts', 'service', 'kind', 'count', 'at']);
  });

  it('gives field-level errors for wrong types, enum values, checks and role rules', () => {
    expect(
      errorsOf(input, {
        ...valid,
        eventId: '',
        service: '  ',
        kind: 'c',
        count: 11,
        ratio: 'x',
        at: 'yesterday',
        again: 'z',
        origin: 'bot',
      }).map(([f]) => f),
    ).toEqual(['eventId', 'service', 'kind', 'count', 'ratio', 'at', 'again', 'origin']);
    expect(errorsOf(input, { ...valid, count: 1.5 })).toEqual([['count', expect.stringMatching(/int/)]]);
  });

  it('accepts null for nullable fields and knows which fields are which', () => {
    expect(errorsOf(input, { ...valid, ratio: null, again: 'b' })).toEqual([]);
    expect(fields.filter((f) => f.required).map((f) => f.name)).toEqual([
      'eventId',
      'ts',
      'receivedAt',
      'service',
      'kind',
      'count',
      'at',
    ]);
    expect(fields.find((f) => f.name === 'count')?.kind).toBe('number');
  });

  it('refuses Avro it cannot take as JSON, naming the field', () => {
    expect(() => zodFromAvro(record([{ name: 'blob', type: 'bytes' }]), roles, {})).toThrow(/fields\.blob: type "bytes"/);
    expect(() => zodFromAvro(record([{ name: 'u', type: ['string', 'int'] }]), roles, {})).toThrow(
      /fields\.u: only unions of null/,
    );
    expect(() => zodFromAvro(record([]), roles, { nope: { min: 1 } })).toThrow(/checks\.nope/);
    expect(() => zodFromAvro(record([{ name: 'n', type: 'int' }]), roles, { n: { maxLength: 3 } })).toThrow(/apply to strings/);
  });
});

async function declarationDir(files: Record<string, string | object>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-declared-'));
  await mkdir(path.join(dir, 'sources'));
  await mkdir(path.join(dir, 'avro'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return { sources: path.join(dir, 'sources'), avro: path.join(dir, 'avro') };
}

const meterSchema = record([
  { name: 'kwh', type: 'double' },
  { name: 'status', type: { type: 'enum', name: 'S', symbols: ['ok', 'fault'] } },
]);
const meterYaml = `name: meter
schema: meter.v1.avsc
origin: partner
partitionKey: [service]
checks:
  kwh: { min: 0 }
kpis:
  - { name: readings, aggregate: count }
  - { name: mean_kwh, aggregate: mean, field: kwh, better: lower }
  - { name: fault_share, aggregate: share, where: { field: status, equals: fault }, better: lower }
`;

describe('a declaration file', () => {
  it('becomes a SourceDefinition: defaults filled, receivedAt added, keyed as declared', async () => {
    const d = await declarationDir({ 'avro/meter.v1.avsc': meterSchema, 'sources/meter.yaml': meterYaml });
    const { definition, kpis } = loadDeclaredSource(path.join(d.sources, 'meter.yaml'), d.avro);
    const parsed = definition.input.safeParse({ eventId: 'm1', ts: 1_767_225_600_000, service: 'power', kwh: 1.5, status: 'ok' });
    expect(parsed.success).toBe(true);
    const rec = definition.toRecord(parsed.data ?? {}, 42);
    expect(rec).toEqual({
      eventId: 'm1',
      ts: 1_767_225_600_000,
      receivedAt: 42,
      service: 'power',
      region: 'unknown',
      kwh: 1.5,
      status: 'ok',
    });
    expect([definition.partitionKey(rec), definition.eventTime(rec)]).toEqual(['power', 1_767_225_600_000]);
    expect(kpis.map((k) => [k.id, k.unit, k.better])).toEqual([
      ['meter_readings', 'count', 'either'],
      ['meter_mean_kwh', 'score', 'lower'],
      ['meter_fault_share', 'ratio', 'lower'],
    ]);
  });

  it('names every problem with its path and line', async () => {
    const d = await declarationDir({
      'avro/meter.v1.avsc': meterSchema,
      'sources/meter.yaml': `name: meter
schema: meter.v1.avsc
origin: robots
fields: { eventTime: when }
kpis:
  - { name: Mean, aggregate: median }
  - { name: total, aggregate: sum }
`,
    });
    try {
      loadDeclaredSource(path.join(d.sources, 'meter.yaml'), d.avro);
      expect.fail('should not load');
    } catch (err) {
      expect(err).toBeInstanceOf(YamlFileError);
      const issues = (err as YamlFileError).issues.map((i) => [i.path, i.line]);
      expect(issues).toEqual(
        expect.arrayContaining([
          ['origin', 3],
          ['kpis.0.name', 6],
          ['kpis.0.aggregate', 6],
          ['kpis.1.field', 7],
        ]),
      );
      expect((err as Error).message).toMatch(/docs\/adding-a-source\.md/);
    }
  });

  it('checks roles, partition key and KPI fields against the Avro schema', async () => {
    const d = await declarationDir({
      'avro/meter.v1.avsc': meterSchema,
      'sources/meter.yaml': `name: meter
schema: meter.v1.avsc
origin: partner
fields: { eventTime: kwh }
partitionKey: [site]
kpis:
  - { name: mean_status, aggregate: mean, field: status }
  - { name: odd, aggregate: count, where: { field: colour, equals: red } }
`,
    });
    expect(() => loadDeclaredSource(path.join(d.sources, 'meter.yaml'), d.avro)).toThrow(
      /fields\.eventTime \(line 4\): "kwh" must be a long \(epoch ms\), not double[\s\S]*partitionKey\.0 \(line 5\): the Avro schema has no field "site"[\s\S]*kpis\.0\.field \(line 7\): "status" is not a number[\s\S]*kpis\.1\.where \(line 8\): the Avro schema has no field "colour"/,
    );
  });

  it('must be named like its file and point at a readable schema', async () => {
    const d = await declarationDir({ 'sources/gauge.yaml': meterYaml });
    expect(() => loadDeclaredSource(path.join(d.sources, 'gauge.yaml'), d.avro)).toThrow(
      /name \(line 1\): must match the file name \(gauge\.yaml\)/,
    );
    const e = await declarationDir({ 'sources/meter.yaml': meterYaml });
    expect(() => loadDeclaredSource(path.join(e.sources, 'meter.yaml'), e.avro)).toThrow(
      /schema \(line 2\): .*meter\.v1\.avsc is not a readable Avro schema/,
    );
  });
});

describe('the registry with declared sources', () => {
  it("loads the repository's declarations at import, beside the built-ins", () => {
    expect(Object.keys(SOURCES)).toEqual(expect.arrayContaining(['probe', 'contact', 'appreview']));
    expect(isSourceName('appreview')).toBe(true);
    expect(isSourceName('nope')).toBe(false);
    expect(sourceNames).toContain('appreview');
    expect(allSources().map((s) => s.name)).toEqual(expect.arrayContaining(['probe', 'maintenance', 'appreview']));
    expect(getSource('probe')).toBe(SOURCES.probe);
    expect(declaredKpis().map((k) => k.id)).toEqual(['appreview_reviews', 'appreview_mean_stars', 'appreview_low_star_share']);
  });

  it("registers more from another folder; ingest's lookups and Avro codecs serve them unchanged", async () => {
    const d = await declarationDir({ 'avro/meter.v1.avsc': meterSchema, 'sources/meter.yaml': meterYaml });
    loadDeclaredSources(d.sources, d.avro);
    expect(isSourceName('meter')).toBe(true);
    const definition = getSource('meter');
    const parsed = definition?.input.safeParse({ eventId: 'm', ts: 1_767_225_600_000, service: 'p', kwh: 2, status: 'fault' });
    const rec = definition?.toRecord(parsed?.data, 1) ?? {};
    const codec = codecFor('meter' as SourceName);
    expect(codec.decode(codec.encode(rec))).toMatchObject({ eventId: 'm', kwh: 2, status: 'fault', receivedAt: 1 });
    expect(declaredKpis().map((k) => k.id)).toContain('meter_fault_share');
  });

  it('refuses a declaration that takes a built-in name', async () => {
    const d = await declarationDir({
      'avro/probe.v9.avsc': meterSchema,
      'sources/probe.yaml': meterYaml.replace('name: meter', 'name: probe').replace('meter.v1', 'probe.v9'),
    });
    expect(() => loadDeclaredSources(d.sources, d.avro)).toThrow(/"probe" is a built-in source/);
  });
});

describe('declared KPI arithmetic', () => {
  const recs = [
    { stars: 1, platform: 'ios' },
    { stars: 2, platform: 'android' },
    { stars: 5, platform: 'ios' },
    { stars: null, platform: 'ios' },
  ];
  const total = (k: Parameters<typeof kpiContribution>[0]) =>
    recs
      .map((r) => kpiContribution(k, r))
      .reduce((a, b) => ({ numerator: a.numerator + b.numerator, denominator: a.denominator + b.denominator }));

  it('sums numerators and denominators so windows roll up exactly', () => {
    const share = { aggregate: 'share', field: 'stars', where: { field: 'stars', lte: 2 } } as const;
    expect(total(share)).toEqual({ numerator: 2, denominator: 3 });
    expect(kpiValue(share, total(share))).toBeCloseTo(2 / 3);
    const mean = { aggregate: 'mean', field: 'stars' } as const;
    expect(kpiValue(mean, total(mean))).toBeCloseTo(8 / 3);
    const iosCount = { aggregate: 'count', where: { field: 'platform', equals: 'ios' } } as const;
    expect(kpiValue(iosCount, total(iosCount))).toBe(3);
    const sum = { aggregate: 'sum', field: 'stars', where: { not: { field: 'platform', equals: 'ios' } } } as const;
    expect(kpiValue(sum, total(sum))).toBe(2);
    expect(kpiValue(mean, { numerator: 0, denominator: 0 })).toBeNull();
  });
});

describe('a declared KPI narrowed in its denominator (over)', () => {
  // Six technician visits, by hand: 2 fixed, 1 not fixed, 3 with no access (nobody home).
  const visits = [
    { outcome: 'fixed', minutes: 30 },
    { outcome: 'fixed', minutes: 50 },
    { outcome: 'not_fixed', minutes: 90 },
    { outcome: 'no_access', minutes: 5 },
    { outcome: 'no_access', minutes: 5 },
    { outcome: 'no_access', minutes: null },
  ];
  const total = (k: Parameters<typeof kpiContribution>[0], recs: object[] = visits) =>
    recs
      .map((r) => kpiContribution(k, r as Record<string, unknown>))
      .reduce((a, b) => ({ numerator: a.numerator + b.numerator, denominator: a.denominator + b.denominator }), {
        numerator: 0,
        denominator: 0,
      });
  const withAccess = { field: 'outcome', notEquals: 'no_access' } as const;

  it('first-time fix is fixed visits over visits with access: 2 / 3, not 2 / 6', () => {
    const ftf = { aggregate: 'share', where: { field: 'outcome', equals: 'fixed' }, over: withAccess } as const;
    expect(total(ftf)).toEqual({ numerator: 2, denominator: 3 });
    expect(kpiValue(ftf, total(ftf))).toBe(2 / 3);
    const naive = { aggregate: 'share', where: { field: 'outcome', equals: 'fixed' } } as const;
    expect(kpiValue(naive, total(naive))).toBe(2 / 6);
  });

  it('a share counts in its numerator only events of its denominator', () => {
    const shortOverAccess = { aggregate: 'share', where: { field: 'minutes', lt: 10 }, over: withAccess } as const;
    // The two 5-minute visits had no access: in neither part.
    expect(total(shortOverAccess)).toEqual({ numerator: 0, denominator: 3 });
  });

  it('a mean with over: Σ field where `where` holds, over every `over` event with the field', () => {
    // Minutes spent on fixes per visit with access: (30 + 50) / 3.
    const fixMinutes = {
      aggregate: 'mean',
      field: 'minutes',
      where: { field: 'outcome', equals: 'fixed' },
      over: withAccess,
    } as const;
    expect(total(fixMinutes)).toEqual({ numerator: 80, denominator: 3 });
    expect(kpiValue(fixMinutes, total(fixMinutes))).toBe(80 / 3);
    // Without over, where narrows both parts, as before: (30 + 50) / 2.
    const meanFix = { aggregate: 'mean', field: 'minutes', where: { field: 'outcome', equals: 'fixed' } } as const;
    expect(kpiValue(meanFix, total(meanFix))).toBe(40);
    // The minutes-less no-access visit is in no mean: (5 + 5) / 2.
    const noAccess = { aggregate: 'mean', field: 'minutes', over: { field: 'outcome', equals: 'no_access' } } as const;
    expect(total(noAccess)).toEqual({ numerator: 10, denominator: 2 });
  });

  it('a window with no event: a count or a sum is 0 like the built-in counts, a share or a mean has no value', () => {
    expect(kpiValue({ aggregate: 'count' }, undefined)).toBe(0);
    expect(kpiValue({ aggregate: 'sum' }, undefined)).toBe(0);
    expect(kpiValue({ aggregate: 'share' }, undefined)).toBeNull();
    expect(kpiValue({ aggregate: 'mean' }, undefined)).toBeNull();
    expect(kpiValue({ aggregate: 'count' }, total({ aggregate: 'count' }, []))).toBe(0);
  });

  it('over belongs to a share or a mean only', async () => {
    const d = await declarationDir({
      'avro/meter.v1.avsc': meterSchema,
      'sources/meter.yaml': `name: meter
schema: meter.v1.avsc
origin: partner
kpis:
  - { name: readings, aggregate: count, over: { field: status, equals: ok } }
`,
    });
    expect(() => loadDeclaredSource(path.join(d.sources, 'meter.yaml'), d.avro)).toThrow(
      /kpis\.0\.over \(line 5\): over narrows the denominator of a share or a mean; a count has none/,
    );
  });
});

describe('where values checked against the Avro schema', () => {
  const visitSchema = record([
    { name: 'outcome', type: { type: 'enum', name: 'Outcome', symbols: ['fixed', 'not_fixed', 'no_access'] } },
    { name: 'repeat', type: 'boolean' },
    { name: 'minutes', type: ['null', 'int'], default: null },
    { name: 'note', type: ['null', 'string'], default: null },
  ]);
  const load = async (kpis: string) => {
    const d = await declarationDir({
      'avro/visit.v1.avsc': visitSchema,
      'sources/visit.yaml': `name: visit\nschema: visit.v1.avsc\norigin: partner\nkpis:\n${kpis}`,
    });
    return () => loadDeclaredSource(path.join(d.sources, 'visit.yaml'), d.avro);
  };

  it('a value that is not a symbol of the enum is an error naming the valid symbols', async () => {
    const loading = await load(`  - name: ftf
    aggregate: share
    where: { field: outcome, equals: fixd }
    over: { not: { field: outcome, in: [no_access, noaccess] } }
`);
    expect(loading).toThrow(YamlFileError);
    expect(() => loading()).toThrow(
      'kpis.0.where.equals (line 7): "fixd" is not a symbol of "outcome"; valid symbols: fixed, not_fixed, no_access',
    );
    expect(loading).toThrow(
      'kpis.0.over.not.in.1 (line 8): "noaccess" is not a symbol of "outcome"; valid symbols: fixed, not_fixed, no_access',
    );
  });

  it('a boolean takes true or false; a number a number; comparisons need a number field', async () => {
    const loading = await load(`  - { name: repeats, aggregate: share, where: { field: repeat, equals: "Y" } }
  - { name: odd, aggregate: count, where: { field: minutes, equals: lots } }
  - { name: big_note, aggregate: count, where: { field: note, gt: 3 } }
`);
    const messages = (() => {
      try {
        loading();
        return [];
      } catch (err) {
        return (err as YamlFileError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    })();
    expect(messages).toEqual([
      'kpis.0.where.equals: "repeat" is a boolean: write true or false, not "Y"',
      'kpis.1.where.equals: "minutes" is a number (int): "lots" is not a number',
      'kpis.2.where.gt: "note" is a string, not a number: gt never matches',
    ]);
  });

  it('the repository declaration and valid values load', async () => {
    const loading = await load(`  - name: ftf
    aggregate: share
    where: { field: outcome, equals: fixed }
    over: { field: outcome, notEquals: no_access }
  - { name: repeats, aggregate: share, where: { field: repeat, equals: true } }
  - { name: long, aggregate: count, where: { field: minutes, gte: 60 } }
`);
    expect(loading().kpis.map((k) => k.id)).toEqual(['visit_ftf', 'visit_repeats', 'visit_long']);
  });
});
