import { describe, expect, it } from 'vitest';
import { parseExpression } from '../../services/replay/mapping/expression.ts';
import { compileMapping } from '../../services/replay/mapping/mapper.ts';
import { MAPPING_HINT, mappingSchema } from '../../services/replay/mapping/schema.ts';
import { parseTemplate, renderTemplate } from '../../services/replay/mapping/template.ts';
import { compileTime } from '../../services/replay/mapping/time.ts';
import { parseYamlText, YamlFileError } from '../../services/shared/sources/yaml-file.ts';

/** Pure mapping logic: no file, no server, no clock. */

const ctx = { row: 7, file: 'calls-1999' };

function mapping(yaml: string) {
  return compileMapping(parseYamlText(yaml, 'test.yaml', mappingSchema, 'mapping', MAPPING_HINT));
}

function problems(yaml: string): Array<[string, number | undefined, string]> {
  try {
    parseYamlText(yaml, 'test.yaml', mappingSchema, 'mapping', MAPPING_HINT);
  } catch (err) {
    if (err instanceof YamlFileError) return err.issues.map((i) => [i.path, i.line, i.message]);
    throw err;
  }
  return [];
}

const header = `version: 1
source: contact
input: { format: csv }
`;

describe('templates', () => {
  it('renders columns, built-ins and literal braces', () => {
    const t = parseTemplate('{$file}:{$row}/{vru+line}-{Ticket #} {{x}}');
    const read = (c: string) => ({ 'vru+line': 'AA01', 'Ticket #': '42' })[c];
    expect(renderTemplate(t, read, ctx)).toEqual({ value: 'calls-1999:7/AA01-42 {x}' });
    expect(t.columns).toEqual(['vru+line', 'Ticket #']);
  });

  it('never renders "undefined": a missing column is reported', () => {
    expect(renderTemplate(parseTemplate('bank-{call_id}'), () => undefined, ctx)).toEqual({ missing: 'call_id' });
  });

  it('rejects broken templates when the mapping loads', () => {
    expect(() => parseTemplate('bank-{call_id')).toThrow(/unclosed/);
    expect(() => parseTemplate('x}')).toThrow(/unmatched/);
    expect(() => parseTemplate('{$rows}')).toThrow(/unknown built-in/);
  });
});

describe('expressions', () => {
  it('computes with precedence, parentheses and functions', () => {
    const e = parseExpression('round({sent} * (1 - {loss} / 100))');
    const read = (c: string) => ({ sent: '250', loss: '0.4' })[c];
    expect(e.evaluate(read)).toEqual({ value: 249 });
    expect(parseExpression('max(1, 2 + 3 * 4, -2) % 5').evaluate(() => undefined)).toEqual({ value: 4 });
  });

  it('says which column was empty or not a number, and catches division by zero', () => {
    const e = parseExpression('{a} / {b}');
    expect(e.evaluate((c) => ({ a: '1', b: 'x' })[c])).toEqual({ error: '{b} is not a number' });
    expect(e.evaluate((c) => ({ a: '1' })[c])).toEqual({ error: '{b} is empty' });
    expect(e.evaluate((c) => ({ a: '1', b: '0' })[c])).toEqual({ error: expect.stringMatching(/finite/) });
  });

  it('refuses anything but arithmetic', () => {
    expect(() => parseExpression('process.exit(1)')).toThrow(/expected a number/);
    expect(() => parseExpression('round(1, 2)')).toThrow(/takes 1/);
    expect(() => parseExpression('1 +')).toThrow();
  });
});

describe('times', () => {
  it('reads a time of day on a fixed date in a zone (DST included)', () => {
    const t = compileTime({ format: 'H:mm:ss', date: '1999-08-01', zone: 'Asia/Jerusalem' });
    expect(t('0:10:10')).toEqual({ value: '1999-08-01T00:10:10.000+03:00' });
    expect(t('25:00:00')).toEqual({ error: 'does not match H:mm:ss' });
  });

  it('reads month names and 12-hour clocks', () => {
    const t = compileTime({ format: 'dd-MMM-yy h:mm:ss a', zone: 'America/New_York' });
    expect(t('22-Apr-15 3:53:50 PM')).toEqual({ value: '2015-04-22T15:53:50.000-04:00' });
    expect(t('04-Dec-15 3:45:26 PM')).toEqual({ value: '2015-12-04T15:45:26.000-05:00' });
  });

  it('tries a list of formats in order, and reads epoch and ISO values', () => {
    const t = compileTime({ format: ['yyyy-MM-dd HH:mm', 'dd/MM/yyyy HH:mm'], zone: 'UTC' });
    expect(t('02/03/2026 08:30')).toEqual({ value: '2026-03-02T08:30:00.000Z' });
    expect(compileTime({ format: 'epochS' })('1700000000')).toEqual({ value: '2023-11-14T22:13:20.000Z' });
    const iso = compileTime({ format: 'iso' });
    expect(iso('2026-01-01T10:00:00+02:00')).toEqual({ value: '2026-01-01T10:00:00.000+02:00' });
    expect(iso('2026-01-01T10:00:00')).toEqual({ error: 'does not match iso' });
  });

  it('turns a period number into base + n units', () => {
    const t = compileTime({ periodIndex: { base: '2016-01-04', unit: 'week' }, zone: 'Europe/Paris' });
    expect(t('0')).toEqual({ value: '2016-01-04T00:00:00.000+01:00' });
    expect(t('13')).toEqual({ value: '2016-04-04T00:00:00.000+02:00' });
    expect(t('1.5')).toEqual({ error: 'period index is not a whole number' });
  });
});

describe('a mapping, row by row', () => {
  const m = mapping(`${header}
nullValues: [NA]
skip:
  - when: { column: outcome, equals: PHANTOM }
    reason: phantom call
  - when: { all: [{ column: outcome, equals: HANG }, { column: q_time, equals: 0 }] }
    reason: left in the IVR
fields:
  eventId: { template: "bank-{line}-{call_id}" }
  ts: { column: at, time: { format: "H:mm:ss", date: "1999-08-01", zone: Asia/Jerusalem } }
  channel: { const: voice }
  queue: { column: type, case: lower }
  waitSec: { column: q_time, type: number }
  abandoned: { column: outcome, map: { AGENT: false, HANG: true } }
  handleSec: { column: ser_time, type: number, when: { column: outcome, equals: AGENT } }
  agentId: { column: server, nullValues: [NO_SERVER], default: nobody }
  resolved: { column: fcr, type: boolean, trueValues: [Y], falseValues: [N] }
  reason: { column: note, replace: { "\\x82": "é" } }
defaults:
  service: retail-banking
  region: israel
`);
  const row = {
    line: 'AA01',
    call_id: '9',
    at: '10:00:21',
    type: ' PS ',
    q_time: '12',
    outcome: 'AGENT',
    ser_time: '99',
    server: 'NAAMA',
    fcr: 'y',
    note: 'r\x82gl\x82',
  };

  it('builds the event field by field, then fills defaults', () => {
    expect(m.mapRow(row, ctx)).toEqual({
      event: {
        eventId: 'bank-AA01-9',
        ts: '1999-08-01T10:00:21.000+03:00',
        channel: 'voice',
        queue: 'ps',
        waitSec: 12,
        abandoned: false,
        handleSec: 99,
        agentId: 'NAAMA',
        resolved: true,
        reason: 'réglé',
        service: 'retail-banking',
        region: 'israel',
      },
    });
  });

  it("skips rows by rule, first match wins, with the rule's reason", () => {
    expect(m.mapRow({ ...row, outcome: 'PHANTOM' }, ctx)).toEqual({ rejected: 'phantom call' });
    expect(m.mapRow({ ...row, outcome: 'HANG', q_time: '0' }, ctx)).toEqual({ rejected: 'left in the IVR' });
  });

  it('leaves a conditional field out, reads null values as absent, and uses the field default', () => {
    const hang = m.mapRow({ ...row, outcome: 'HANG', server: 'NO_SERVER', note: 'NA', fcr: '' }, ctx);
    expect(hang).toEqual({ event: expect.not.objectContaining({ handleSec: expect.anything() }) });
    expect('event' in hang && [hang.event.abandoned, hang.event.agentId, hang.event.reason, hang.event.resolved]).toEqual([
      true,
      'nobody',
      undefined,
      undefined,
    ]);
  });

  it('rejects a row whose value is not in a map or not a number, naming the field and the value', () => {
    expect(m.mapRow({ ...row, outcome: 'TRANSFER' }, ctx)).toEqual({
      rejected: 'abandoned: value is not in the map',
      detail: "'TRANSFER' from column outcome; known: AGENT, HANG",
    });
    expect(m.mapRow({ ...row, q_time: '12s' }, ctx)).toEqual({
      rejected: 'waitSec: is not a number',
      detail: "'12s' from column q_time",
    });
    expect(m.mapRow({ ...row, at: 'noon' }, ctx)).toMatchObject({ rejected: 'ts: does not match H:mm:ss' });
    expect(m.mapRow({ ...row, fcr: 'maybe' }, ctx)).toMatchObject({ rejected: 'resolved: is not a known true/false value' });
    expect(m.mapRow({ ...row, call_id: '' }, ctx)).toMatchObject({
      rejected: 'eventId: template needs column call_id, which is empty',
    });
  });

  it('lists every column it reads, for the header check', () => {
    expect(m.columns.sort()).toEqual(
      ['at', 'call_id', 'fcr', 'line', 'note', 'outcome', 'q_time', 'server', 'ser_time', 'type'].sort(),
    );
  });

  it('reads nested NDJSON values with dotted column names', () => {
    const n = mapping(`version: 1
source: probe
input: { format: ndjson }
fields:
  probeId: { column: probe.id }
  latencyMs: { column: rtt.avg, type: number }
`);
    expect(n.mapRow({ probe: { id: 'p1' }, rtt: { avg: 12.5 } }, ctx)).toEqual({ event: { probeId: 'p1', latencyMs: 12.5 } });
  });
});

describe('mapping files are checked with paths and lines', () => {
  it('names every problem at once, where it is', () => {
    const found = problems(`version: 2
source: Contact
input: { format: xlsx }
skip:
  - when: { column: outcome, equals: PHANTOM, in: [X] }
fields:
  eventId: { template: "bank-{call_id" }
  ts: { column: at, time: { format: "H:mm", zone: Mars/Olympus } }
  waitSec: { column: q_time, const: 0 }
  abandoned: { column: outcome, otherwise: true }
  queue: { column: type, typo: 1 }
`);
    const paths = found.map(([p]) => p);
    expect(paths).toEqual(
      expect.arrayContaining([
        'version',
        'source',
        'input.format',
        'skip.0.reason',
        'skip.0.when',
        'fields.eventId.template',
        'fields.ts.time',
        'fields.waitSec',
        'fields.abandoned.otherwise',
        'fields.queue',
      ]),
    );
    expect(found.find(([p]) => p === 'fields.eventId.template')).toEqual([
      'fields.eventId.template',
      7,
      expect.stringMatching(/unclosed/),
    ]);
    expect(found.find(([p]) => p === 'fields.ts.time')?.[2]).toMatch(/Mars\/Olympus.*IANA/);
    expect(found.find(([p]) => p === 'skip.0.when')?.[2]).toMatch(/exactly one of/);
  });

  it('requires a zone for local times', () => {
    expect(problems(`${header}fields:\n  ts: { column: at, time: { format: "HH:mm" } }\n`)).toEqual([
      ['fields.ts.time', 5, expect.stringMatching(/zone is required/)],
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems(`${header}fields:\n  ts: { column: at\n`)).toEqual([['(file)', expect.any(Number), expect.any(String)]]);
  });

  it('says what to read next', () => {
    expect(() => parseYamlText('version: 1', 'x.yaml', mappingSchema, 'mapping', MAPPING_HINT)).toThrow(
      /docs\/adding-a-source\.md/,
    );
  });
});
