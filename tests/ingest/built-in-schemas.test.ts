import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contactSource } from '../../services/families/contact/source.ts';
import { probeSource } from '../../services/families/probe/source.ts';
import { socialSource } from '../../services/families/social/source.ts';
import { surveySource } from '../../services/families/survey/source.ts';
import { type AvroSchema, zodFromAvro } from '../../services/shared/sources/avro-zod.ts';
import { fieldErrors, requiredMessage } from '../../services/shared/sources/common.ts';
import { maintenanceSource } from '../../services/shared/sources/maintenance.ts';
import {
  GENERATED_RECORDS,
  generatedRecordFiles,
  readSchemaFile,
  recordTypeSource,
} from '../../services/shared/sources/record-types.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';

/**
 * The built-in sources are declared by their .avsc alone, like declared sources: the
 * record type is generated from it, the posted input generated from it plus what Avro
 * cannot say. (What each example becomes on the bus: sources.test.ts.)
 */

const RECEIVED = Date.UTC(2026, 10, 23, 12, 0, 0);

function post(source: SourceDefinition<unknown, object>, event: unknown) {
  const parsed = source.input.safeParse(event, { error: requiredMessage });
  if (!parsed.success) return { errors: fieldErrors(0, parsed.error).map((e) => [e.field, e.message]) };
  return { record: source.toRecord(parsed.data, RECEIVED) as Record<string, unknown> };
}

const avroFields = (file: string) =>
  (readSchemaFile(file) as unknown as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
const postedFields = (source: SourceDefinition<unknown, object>) => Object.keys((source.input as z.ZodObject).shape).sort();

describe('built-in sources from their .avsc', () => {
  it('every generated record type is the one its schema gives (else: npm run generate:records)', () => {
    for (const { file, text } of generatedRecordFiles()) {
      expect(readFileSync(file, 'utf8'), `${file} differs from its .avsc: run npm run generate:records`).toBe(text);
    }
    expect(GENERATED_RECORDS.map((r) => r.interfaceName)).toEqual([
      'ProbeRecord',
      'ContactRecord',
      'SurveyRecord',
      'SocialRecord',
      'MaintenanceRecord',
    ]);
  });

  it('a field added to a schema appears in the generated type, typed from Avro', () => {
    const schema = readSchemaFile('survey.v1.avsc') as unknown as { fields: unknown[] };
    const grown = {
      ...schema,
      fields: [
        ...schema.fields,
        { name: 'channel', type: ['null', { type: 'enum', name: 'Channel', symbols: ['web', 'app'] }], default: null },
        { name: 'weight', type: 'double', doc: 'how much the response counts' },
      ],
    };
    const text = recordTypeSource(GENERATED_RECORDS[2] as (typeof GENERATED_RECORDS)[number], grown as unknown as AvroSchema);
    expect(text).toContain("  channel: 'web' | 'app' | null;\n");
    expect(text).toContain('  /** how much the response counts */\n  weight: number;\n');
    expect(text).toContain("  kind: 'nps' | 'csat' | 'ces';\n");
    expect(text).toContain('  segment: string | null;\n');
  });

  it('the posted fields are the schema fields, less what the server fills, plus the posted-only ones', () => {
    const less = (file: string, ...gone: string[]) => avroFields(file).filter((f) => !gone.includes(f));
    expect(postedFields(probeSource)).toEqual([...less('probe.v1.avsc', 'receivedAt'), 'success'].sort());
    expect(postedFields(contactSource)).toEqual(less('contact.v1.avsc', 'receivedAt').sort());
    expect(postedFields(surveySource)).toEqual(less('survey.v1.avsc', 'receivedAt').sort());
    expect(postedFields(socialSource)).toEqual(less('social.v1.avsc', 'receivedAt', 'sentimentMethod').sort());
    expect(postedFields(maintenanceSource)).toEqual(less('maintenance.v1.avsc', 'receivedAt').sort());
  });

  it('a minimal contact becomes a full record: defaults from the schema, unknown service and region, nulls', () => {
    const { record } = post(contactSource, {
      eventId: 'c1',
      ts: '2026-11-23T11:59:00Z',
      channel: 'chat',
      queue: ' billing ',
      waitSec: 12,
      abandoned: false,
    });
    expect(record).toEqual({
      eventId: 'c1',
      ts: Date.UTC(2026, 10, 23, 11, 59, 0),
      receivedAt: RECEIVED,
      service: 'unknown',
      region: 'unknown',
      segment: null,
      origin: 'customer',
      channel: 'chat',
      queue: 'billing',
      waitSec: 12,
      abandoned: false,
      handleSec: null,
      resolved: null,
      transfers: null,
      reason: null,
      agentId: null,
      customerId: null,
    });
  });

  it('names each field that breaks a rule Avro cannot say, with the rule', () => {
    const contact = { eventId: 'c1', ts: RECEIVED, channel: 'chat', queue: 'q', waitSec: 1, abandoned: true };
    expect(post(contactSource, { ...contact, waitSec: -1, transfers: 1001, channel: 'fax', queue: '  ' }).errors).toEqual([
      ['channel', 'Invalid option: expected one of "voice"|"chat"|"email"|"social"|"self-service"'],
      ['queue', 'must not be empty'],
      ['waitSec', 'must be at least 0'],
      ['transfers', 'must be at most 1000'],
    ]);
    expect(post(contactSource, { ...contact, reason: 'x'.repeat(501) }).errors).toEqual([
      ['reason', 'must be at most 500 characters'],
    ]);
    expect(post(contactSource, { ...contact, transfers: 1.5 }).errors).toEqual([
      ['transfers', 'Invalid input: expected int, received number'],
    ]);
    const probe = { eventId: 'p1', ts: RECEIVED, service: 's', region: 'r', probeId: 'x', probeType: 'active' };
    expect(post(probeSource, { ...probe, success: true, mos: 5.5, packetLossPct: 101 }).errors).toEqual([
      ['packetLossPct', 'must be at most 100'],
      ['mos', 'must be at most 5'],
    ]);
    expect(post(probeSource, { ...probe, attempts: 4, successes: 5 }).errors).toEqual([
      ['successes', 'must not exceed attempts'],
    ]);
    const survey = { eventId: 's1', ts: RECEIVED, kind: 'csat', score: 6 };
    expect(post(surveySource, survey).errors).toEqual([['score', 'csat scores run from 1 to 5']]);
    expect(post(surveySource, { ...survey, kind: 'nps', score: 7.5 }).errors).toEqual([
      ['score', 'nps scores are whole numbers'],
    ]);
    expect(post(socialSource, { eventId: 'x', ts: RECEIVED, platform: 'x', text: '  ' }).errors).toEqual([
      ['sentiment', 'required when there is no text to score'],
    ]);
    const maintenance = { maintenanceId: 'm', service: 's', start: RECEIVED, end: RECEIVED };
    expect(post(maintenanceSource, maintenance).errors).toEqual([['end', 'must be after start']]);
    expect(post(maintenanceSource, { ...maintenance, end: 'tomorrow' }).errors?.[0]?.[0]).toBe('end');
  });

  it('fills what the server works out: attempts from success, the sentiment method, a declaration time', () => {
    const probe = { eventId: 'p1', ts: RECEIVED, service: 's', region: 'r', probeId: 'x', probeType: 'agent' };
    expect(post(probeSource, { ...probe, success: false }).record).toMatchObject({
      attempts: 1,
      successes: 0,
      origin: 'network',
    });
    expect(post(probeSource, { ...probe, attempts: 9, successes: 7 }).record).toMatchObject({ attempts: 9, successes: 7 });
    expect(post(socialSource, { eventId: 'x', ts: RECEIVED, platform: 'x', sentiment: -0.5 }).record).toMatchObject({
      sentiment: -0.5,
      sentimentMethod: 'provided',
      text: null,
    });
    // No back-dating without the token for it: declared when received.
    const declared = post(maintenanceSource, {
      maintenanceId: 'CHG-9',
      service: 's',
      start: RECEIVED + 60_000,
      end: RECEIVED + 120_000,
      declaredAt: RECEIVED - 86_400_000,
    }).record;
    expect(declared).toMatchObject({
      eventId: `CHG-9@${RECEIVED}`,
      ts: RECEIVED,
      declaredAt: RECEIVED,
      region: null,
      origin: 'manager',
    });
  });

  it('the options name only fields the schema has, and a posted-only field may not shadow one', () => {
    const schema: AvroSchema = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] };
    const roles = { eventId: 'a', eventTime: 'a', service: 'a', region: 'a' };
    expect(() => zodFromAvro(schema, roles, {}, { optional: ['b'] })).toThrow(/b: the Avro schema has no such field/);
    expect(() => zodFromAvro(schema, roles, {}, { extra: { a: z.string() } })).toThrow(/a: is a record field/);
  });
});
