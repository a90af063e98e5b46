import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseEventsBody } from '../../services/ingest/body.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import { parseModel } from '../../services/model/model.ts';
import { registerReplayCommands } from '../../services/replay/cli.ts';
import { mapFile } from '../../services/replay/map-file.ts';
import { loadMapping } from '../../services/replay/mapping/schema.ts';
import { mappingProblems } from '../../services/replay/resolve.ts';
import type { Bus, OutgoingMessage } from '../../services/shared/bus/bus.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { codecFor, historyOf, SCHEMA_HISTORY_DIR } from '../../services/shared/sources/avro.ts';
import { loadDeclaredSource } from '../../services/shared/sources/declared.ts';
import { declaredKpis, getSource, isSourceName, type SourceName } from '../../services/shared/sources/registry.ts';

/**
 * docs/adding-a-source.md, followed as written: the files it shows are the files in the
 * repository, the declared source validates and encodes to Avro, the sample file maps to
 * the rows and rejections the guide prints, and the ingest path accepts the events.
 * (The end-to-end KPI check joins once the aggregator's generic family exists.)
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const at = (p: string) => path.join(repoRoot, p);
const guide = readFileSync(at('docs/adding-a-source.md'), 'utf8');

/** Fenced blocks of the guide: info string `lang title="…"`, and the content. */
const blocks = [...guide.matchAll(/^```(\w+)(?: title="([^"]+)")?\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1],
  title: m[2],
  content: m[3] ?? '',
}));
const block = (title: string) => blocks.find((b) => b.title === title) ?? expect.fail(`the guide has no block titled "${title}"`);

const SAMPLE = 'tests/replay/fixtures/appreviews-2026-03.csv';
const NOW = Date.UTC(2026, 2, 3, 12, 0, 0);

describe('the guide shows the files as they are', () => {
  it.each(['schemas/avro/appreview.v1.avsc', 'schemas/sources/appreview.yaml', SAMPLE, 'schemas/mappings/appreview-export.yaml'])(
    '%s',
    (file) => {
      expect(block(file).content).toBe(readFileSync(at(file), 'utf8'));
    },
  );
});

describe('step 1–2: the declared source', () => {
  it('loads from the repository, beside the built-ins, with its KPIs', () => {
    const { definition, kpis } = loadDeclaredSource(at('schemas/sources/appreview.yaml'));
    expect(definition.name).toBe('appreview');
    expect(isSourceName('appreview')).toBe(true);
    expect(kpis.map((k) => [k.id, k.aggregate, k.unit, k.better])).toEqual([
      ['appreview_reviews', 'count', 'count', 'either'],
      ['appreview_mean_stars', 'mean', 'score', 'higher'],
      ['appreview_low_star_share', 'share', 'ratio', 'lower'],
    ]);
    expect(declaredKpis()).toEqual(kpis);
  });

  it('validates with field-level errors and encodes to Avro with its defaults', () => {
    const source = getSource('appreview') ?? expect.fail('appreview is not registered');
    const bad = source.input.safeParse({ eventId: 'r1', ts: 'yesterday', platform: 'web', stars: 0 });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual(['ts', 'platform', 'stars']);
    const good = source.input.safeParse({ eventId: 'r1', ts: '2026-03-02T08:15:31Z', platform: 'ios', stars: 4 });
    expect(good.success).toBe(true);
    const record = source.toRecord(good.data, NOW);
    const codec = codecFor('appreview' as SourceName);
    expect(codec.schemaName).toBe('appreview.v1');
    expect(codec.decode(codec.encode(record))).toMatchObject({
      eventId: 'r1',
      ts: Date.UTC(2026, 2, 2, 8, 15, 31),
      receivedAt: NOW,
      service: 'self-care-app',
      region: 'unknown',
      origin: 'customer',
      platform: 'ios',
      stars: 4,
      text: null,
    });
  });
});

describe('step 3–4: the mapping and the dry run', () => {
  it('fits the source and maps the sample to the rows and rejections the guide shows', async () => {
    const mapping = loadMapping(at('schemas/mappings/appreview-export.yaml'));
    expect(mappingProblems(mapping, getSource('appreview') ?? expect.fail('no appreview'))).toEqual([]);
    const outcomes: Array<[number, string]> = [];
    for await (const r of mapFile(at(SAMPLE), mapping))
      outcomes.push([r.row, 'event' in r ? String(r.event.eventId) : r.rejected]);
    expect(outcomes).toEqual([
      [1, 'gp-1001'],
      [2, 'as-2001'],
      [3, 'gp-1002'],
      [4, 'as-2002'],
      [5, 'no star rating'],
      [6, 'platform: value is not in the map'],
      [7, 'ts: does not match yyyy-MM-dd HH:mm:ss'],
      [8, 'gp-1004'],
      [9, 'as-2004'],
      [10, 'gp-1005'],
      [11, 'as-2005'],
      [12, 'gp-1006'],
    ]);
  });

  it('prints what the guide prints (all but the timing line)', async () => {
    const command =
      guide.match(/^npx tsx services\/cli\/main\.ts (replay .*--dry-run)$/m)?.[1] ??
      expect.fail('no dry-run command in the guide');
    let stderr = '';
    let code = -1;
    const program = new Command('cxvitals').exitOverride();
    registerReplayCommands(program, {
      stderr: (t) => {
        stderr += t;
      },
      stdout: () => {},
      env: {},
      isTty: false,
      setExitCode: (c) => {
        code = c;
      },
    });
    const cwd = process.cwd();
    process.chdir(repoRoot);
    try {
      await program.parseAsync(['node', 'cxvitals', ...command.split(' ')]);
    } finally {
      process.chdir(cwd);
    }
    const stable = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !/batch\(es\)/.test(l));
    expect(code).toBe(0);
    expect(stable(stderr)).toEqual(stable(block('output').content));
  });
});

describe('step 5: the model entries', () => {
  it('name declared KPIs, with best and worst the way each KPI points', () => {
    const model = parseYaml(block('schemas/model/cx-model.v1.yaml (additions)').content) as {
      kpis: Record<string, { best: number; worst: number }>;
      kqis: Array<{ name: string; kpis: Array<{ kpi: string }> }>;
    };
    const kpis = new Map(declaredKpis().map((k) => [k.id, k]));
    for (const [id, { best, worst }] of Object.entries(model.kpis)) {
      const kpi = kpis.get(id) ?? expect.fail(`${id} is not a declared KPI`);
      if (kpi.better === 'higher') expect(best).toBeGreaterThan(worst);
      if (kpi.better === 'lower') expect(best).toBeLessThan(worst);
    }
    const used = model.kqis.flatMap((q) => q.kpis.map((k) => k.kpi)).filter((id) => id.startsWith('appreview_'));
    expect(used.sort()).toEqual(Object.keys(model.kpis).sort());
  });

  it('make a valid model once added to the model file', () => {
    const additions = parseYaml(block('schemas/model/cx-model.v1.yaml (additions)').content) as {
      kpis: Record<string, unknown>;
      kqis: Array<{ name: string }>;
    };
    const model = parseYaml(readFileSync(at('schemas/model/cx-model.v1.yaml'), 'utf8')) as typeof additions;
    model.kpis = { ...model.kpis, ...additions.kpis };
    for (const kqi of additions.kqis) model.kqis = [...model.kqis.filter((q) => q.name !== kqi.name), kqi];
    const withoutDeclared = parseModel(stringifyYaml(model));
    expect(withoutDeclared.ok).toBe(false);
    const result = parseModel(stringifyYaml(model), { extraKpis: declaredKpis() });
    expect(result.ok ? [] : result.issues).toEqual([]);
  });
});

describe('step 6: ingest takes the events', () => {
  it('accepts the mapped events on the backfill topic and refuses the 6-star review by field', async () => {
    const produced: Array<{ topic: string; messages: OutgoingMessage[] }> = [];
    const bus: Bus = {
      client: 'kafkajs',
      brokers: 'double:9092',
      async produce(topic, messages) {
        produced.push({ topic, messages });
      },
      subscribe: () => Promise.reject(new Error('not in this test')),
      ensureTopics: async () => {},
      health: async () => ({ ok: true, client: 'kafkajs', brokers: 'double:9092', detail: '' }),
      producedEnds: () => [],
      committedOffsets: async () => [],
      close: async () => {},
    };
    const events: unknown[] = [];
    for await (const r of mapFile(at(SAMPLE), loadMapping(at('schemas/mappings/appreview-export.yaml')))) {
      if ('event' in r) events.push(r.event);
    }
    const ingest = new IngestService(bus, createMetrics(), { maxFutureMs: 300_000, now: () => NOW });
    const ndjson = events.map((e) => JSON.stringify(e)).join('\n');
    const result = await ingest.ingest('appreview' as SourceName, parseEventsBody(ndjson, 'ndjson'), { backfill: true });
    expect([result.received, result.accepted, result.rejected]).toEqual([9, 8, 1]);
    expect(result.errors.map((e) => [e.index, e.field])).toEqual([[4, 'stars']]);
    expect(produced.map((p) => p.topic)).toEqual(['cx.appreview.backfill.v1']);
    const decoded = (produced[0]?.messages ?? []).map((m) => codecFor('appreview' as SourceName).decode(m.value));
    expect(decoded.map((d) => [d.eventId, d.platform, d.stars, d.region])).toEqual([
      ['gp-1001', 'android', 5, 'gb'],
      ['as-2001', 'ios', 1, 'gb'],
      ['gp-1002', 'android', 2, 'ie'],
      ['as-2002', 'ios', 4, 'gb'],
      ['as-2004', 'ios', 3, 'fr'],
      ['gp-1005', 'android', 1, 'gb'],
      ['as-2005', 'ios', 4, 'gb'],
      ['gp-1006', 'android', 5, 'gb'],
    ]);
    expect(decoded.find((d) => d.eventId === 'gp-1002')?.title).toBe('Slow, slow, slow');
    expect(decoded.find((d) => d.eventId === 'as-2005')?.text).toBe('Much better since the update.\nStill no dark mode, though.');
    expect(produced[0]?.messages.map((m) => m.key)).toContain('self-care-app|gb');
  });
});

describe('changing the schema later: the history folder', () => {
  it('the guide, the history README and the reader agree on the folder name', () => {
    const schemaFile = getSource('appreview')?.schemaFile ?? expect.fail('appreview is not loaded');
    const folder = schemaFile.replace(/\.avsc$/, '');
    expect(folder).toBe('appreview.v1');
    expect(guide).toContain(`schemas/avro/history/${folder}/1.avsc`);
    const note = readFileSync(at('schemas/avro/history/README.md'), 'utf8');
    expect(note).toContain(`history/${folder}/1.avsc`);
    // The reader looks exactly there: a schema kept in that folder is one it decodes.
    const dir = `${mkdtempSync(path.join(os.tmpdir(), 'cxv-history-'))}/`;
    mkdirSync(path.join(dir, folder));
    writeFileSync(path.join(dir, folder, '1.avsc'), readFileSync(at(`schemas/avro/${schemaFile}`), 'utf8'));
    expect(historyOf(folder, dir)).toHaveLength(1);
    expect(SCHEMA_HISTORY_DIR).toBe(at('schemas/avro/history/'));
  });
});
