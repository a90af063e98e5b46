/**
 * Generators of malformed and hostile ingest requests for the fuzz test, driven by a
 * seeded PRNG so that a failing case reproduces from (seed, case number).
 */

import { seededRandom } from '../support/random.ts';
import { EVENT_SOURCES, type EventSource, EXAMPLES } from './examples.ts';
import { NOW, TOKENS } from './harness.ts';

/** The tests' seeded PRNG (tests/support/random.ts) with the draws the generators use; deterministic per seed. */
export class Rng {
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = seededRandom(seed);
  }
  next(): number {
    return this.random();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface HostileRequest {
  kind: string;
  source: string;
  contentType: string | null;
  payload: string | Buffer;
  authorization: string | null;
  query: string;
}

/** JSON texts (raw, so 1e309 and -0 reach the parser as written). */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  "'; DROP TABLE cxvitals.raw_events; --",
  '" OR 1=1 --',
  "1' UNION SELECT password FROM system.users --",
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${process.exit(1)}',
  '{{constructor.constructor("return process")().exit()}}',
  '__proto__',
  'constructor',
  'prototype',
  '\ud800',
  '\udfff',
  '\u202eevil',
  '../../etc/passwd',
  '%00%0a',
  '\r\n\r\n',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'null',
  'true',
  '2026-13-45T99:99:99Z',
  '2026-11-23T10:00:00',
  '0000-00-00T00:00:00Z',
  '🙂🙂🙂',
].map((s) => JSON.stringify(s));

const HOSTILE_NUMBERS = [
  '1e309',
  '-1e309',
  '-0',
  '0',
  '-1',
  '1.5',
  '1e-400',
  '4.9e-324',
  '1.7976931348623157e308',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  String(NOW),
  String(NOW + 86_400_000),
  '11',
  '0.5',
];

const HOSTILE_STRUCTURES = ['null', 'true', 'false', '[]', '{}', '[null]', '{"$gt":""}', '{"__proto__":{"polluted":"yes"}}'];

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString', 'valueOf'];

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/csv',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/json-patch+json',
  'image/png',
  '*/*',
  ';;;',
];

const GOOD_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
];

const UNKNOWN_SOURCES = ['telepathy', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'PROBE', 'probe%00', '%2e%2e'];

const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // encoded surrogate
  Buffer.from([0x80, 0x80]), // lone continuation bytes
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated sequence
];

export function hostileValue(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
    case 1:
      return rng.pick(HOSTILE_STRINGS);
    case 2:
    case 3:
      return rng.pick(HOSTILE_NUMBERS);
    case 4:
      return rng.pick(HOSTILE_STRUCTURES);
    default:
      return rng.chance(0.5) ? JSON.stringify('x'.repeat(rng.int(300_000))) : deepArray(rng.int(5_000) + 1);
  }
}

export const deepArray = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth: number): string => `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;

let serial = 0;
function validEvent(rng: Rng, source: EventSource): Record<string, unknown> {
  serial += 1;
  const e = { ...EXAMPLES[source] };
  if (source === 'maintenance') e.maintenanceId = `CHG-F${serial}`;
  else e.eventId = `f-${serial}`;
  if (rng.chance(0.3) && source !== 'maintenance') e.ts = NOW - rng.int(3_600_000);
  return e;
}

/** The event as JSON with one or more fields replaced by raw hostile JSON text. */
function mutatedEventText(rng: Rng, source: EventSource): string {
  const event = validEvent(rng, source);
  const fields = Object.keys(event);
  const holes: string[] = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const field = rng.chance(0.85) ? rng.pick(fields) : `extra${i}`;
    event[field] = `\u0001HOLE${holes.length}\u0001`;
    holes.push(hostileValue(rng));
  }
  let text = JSON.stringify(event);
  holes.forEach((raw, i) => {
    text = text.replace(`"\\u0001HOLE${i}\\u0001"`, () => raw);
  });
  // Duplicate keys: JSON.parse keeps the last one.
  if (rng.chance(0.1)) text = text.replace(/^\{/, `{"${rng.pick(fields)}":${hostileValue(rng)},`);
  return text;
}

function protoPollutionText(rng: Rng, source: EventSource): string {
  const key = rng.pick(PROTO_KEYS);
  const payload = rng.pick(['{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', '"yes"', '[{"polluted":"yes"}]', 'null']);
  const body = JSON.stringify(validEvent(rng, source)).slice(1);
  return rng.chance(0.5) ? `{"${key}":${payload},${body}` : `{${body.slice(0, -1)},"${key}":${payload}}`;
}

function batchText(rng: Rng, source: EventSource, n: number): string {
  return JSON.stringify(Array.from({ length: n }, () => validEvent(rng, source)));
}

export function hostileRequest(rng: Rng): HostileRequest {
  const source = rng.pick(EVENT_SOURCES);
  const request: HostileRequest = {
    kind: '',
    source,
    contentType: 'application/json',
    payload: '',
    authorization: `Bearer ${TOKENS.any.token}`,
    query: rng.chance(0.15) ? 'backfill=true' : '',
  };
  const roll = rng.int(1000);
  if (roll < 150) {
    request.kind = 'valid batch';
    request.payload = batchText(rng, source, 1 + rng.int(5));
  } else if (roll < 450) {
    request.kind = 'mutated fields';
    const n = 1 + rng.int(4);
    request.payload = `[${Array.from({ length: n }, () =>
      rng.chance(0.7) ? mutatedEventText(rng, source) : JSON.stringify(validEvent(rng, source)),
    ).join(',')}]`;
  } else if (roll < 530) {
    request.kind = 'prototype keys';
    request.payload = `[${protoPollutionText(rng, source)}]`;
  } else if (roll < 630) {
    request.kind = 'truncated JSON';
    const text = batchText(rng, source, 1 + rng.int(3));
    request.payload = text.slice(0, rng.int(text.length));
  } else if (roll < 680) {
    request.kind = 'deep nesting';
    const depth = 1 + rng.int(rng.chance(0.2) ? 200_000 : 2_000);
    const deep = rng.chance(0.5) ? deepArray(depth) : deepObject(depth);
    request.payload = rng.chance(0.5) ? deep : `[{"eventId":${deep}}]`;
    if (rng.chance(0.3)) request.payload = request.payload.slice(0, -1); // unbalanced
  } else if (roll < 750) {
    request.kind = 'invalid UTF-8';
    const text = Buffer.from(batchText(rng, source, 1 + rng.int(2)));
    const at = rng.int(text.length);
    request.payload = Buffer.concat([text.subarray(0, at), rng.pick(INVALID_UTF8), text.subarray(at)]);
  } else if (roll < 780) {
    request.kind = 'random bytes';
    request.payload = Buffer.from(Array.from({ length: rng.int(2_000) }, () => rng.int(256)));
  } else if (roll < 830) {
    request.kind = 'empty or primitive';
    request.payload = rng.pick(['', ' ', '\n', 'null', 'true', '0', '""', '[]', '{}', '[[]]', '[null,null]', '"\\u0000"']);
  } else if (roll < 833) {
    request.kind = 'array of 10k items';
    const item = rng.pick(['null', '1', '"x"', '{}', '[]', 'valid']);
    request.payload =
      item === 'valid' ? batchText(rng, source, 10_000) : `[${Array.from({ length: 10_000 }, () => item).join(',')}]`;
  } else if (roll < 880) {
    request.kind = 'wrong content type';
    request.contentType = rng.chance(0.1) ? null : rng.pick(WRONG_CONTENT_TYPES);
    request.payload = batchText(rng, source, 1);
  } else if (roll < 950) {
    request.kind = 'NDJSON';
    request.contentType = rng.pick(GOOD_CONTENT_TYPES.slice(3));
    const lines = Array.from({ length: 1 + rng.int(6) }, () =>
      rng.pick([
        () => JSON.stringify(validEvent(rng, source)),
        () => mutatedEventText(rng, source),
        () => '{"broken": ',
        () => '',
        () => '   ',
        () => '\u0000',
        () => hostileValue(rng),
      ])(),
    );
    request.payload = lines.join(rng.pick(['\n', '\r\n', '\n\n']));
  } else if (roll < 970) {
    request.kind = 'auth';
    request.payload = batchText(rng, source, 1);
    request.authorization = rng.pick([
      null,
      '',
      'Bearer',
      'Basic Zm9vOmJhcg==',
      `Bearer ${TOKENS.any.token}x`,
      `Bearer ${TOKENS.any.token.toUpperCase()}`,
      `Bearer ${source === 'contact' ? TOKENS.probe.token : TOKENS.contact.token}`,
      `Bearer ${'A'.repeat(10_000)}`,
      'Bearer \u0000',
    ]);
  } else if (roll < 985) {
    request.kind = 'unknown source';
    request.source = rng.pick(UNKNOWN_SOURCES);
    request.payload = batchText(rng, source, 1);
  } else if (roll < 992) {
    request.kind = 'bad query';
    request.query = rng.pick(['backfill=maybe', 'backfill=', 'backfill=true&backfill=false', 'backfill[]=1', '__proto__=x']);
    request.payload = batchText(rng, source, 1);
  } else {
    request.kind = 'huge string';
    const event = validEvent(rng, source);
    request.payload = JSON.stringify([{ ...event, text: 'x'.repeat(500_000 + rng.int(1_000_000)) }]);
  }
  if (request.kind !== 'wrong content type' && request.kind !== 'NDJSON' && rng.chance(0.1)) {
    request.contentType = rng.pick(GOOD_CONTENT_TYPES);
  }
  return request;
}

export function describeRequest(r: HostileRequest): string {
  const text = Buffer.isBuffer(r.payload) ? r.payload.toString('latin1') : r.payload;
  const preview = text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text;
  return `${r.kind} → ${r.source}${r.query ? `?${r.query}` : ''} [${r.contentType}] ${JSON.stringify(preview)}`;
}
