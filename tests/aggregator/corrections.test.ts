import { describe, expect, it } from 'vitest';
import { type Family, WindowEngine } from '../../services/aggregator/engine.ts';
import {
  classifyVersions,
  currentIndex,
  type EventHistory,
  fingerprintOf,
  idChunks,
  RETRACTION_FINGERPRINT,
  verdictFor,
  versionPayload,
} from '../../services/aggregator/ledger.ts';
import { MaintenanceRegistry } from '../../services/aggregator/maintenance-registry.ts';
import { addContact, DEFAULT_CONTACT_THRESHOLDS, emptyContact } from '../../services/families/contact/accumulator.ts';
import { classify, probeFamily, probeStateFromRow } from '../../services/families/probe/binding.ts';
import type { ProbeRecord } from '../../services/families/probe/source.ts';
import { addSurvey, emptySurvey } from '../../services/families/survey/accumulator.ts';
import { subtractAccumulator } from '../../services/shared/kpi/subtract.ts';

/** Corrections, pure parts: the verdict on a version, subtraction, and windows that know which version they count. */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

describe('what a version of an event is (ledger verdict)', () => {
  const history = (...payloads: string[]): EventHistory => ({
    fingerprints: payloads.map((p) => (p === '' ? RETRACTION_FINGERPRINT : fingerprintOf(p))),
    payloads,
    receivedAts: payloads.map((_, k) => 1_000 + k),
  });
  const HOUR = 3_600_000;

  it('the first version of an eventId is new; the same content again is a re-send, whenever it was received', () => {
    const a = versionPayload({ eventId: 'x', score: 3, receivedAt: 1_000 });
    expect(verdictFor(undefined, fingerprintOf(a), 1_000, HOUR)).toEqual({ kind: 'new' });
    const again = versionPayload({ eventId: 'x', score: 3, receivedAt: 9_999 });
    expect(fingerprintOf(again)).toBe(fingerprintOf(a));
    expect(verdictFor(history(a), fingerprintOf(again), 9_999, HOUR)).toEqual({ kind: 'resend' });
  });

  it('other content is a correction; an older version re-sent after it is a re-send, not a way back', () => {
    const a = versionPayload({ eventId: 'x', score: 3 });
    const b = versionPayload({ eventId: 'x', score: 10 });
    expect(verdictFor(history(a), fingerprintOf(b), 2_000, HOUR)).toEqual({ kind: 'correction' });
    expect(verdictFor(history(a, b), fingerprintOf(a), 3_000, HOUR)).toEqual({ kind: 'resend' });
  });

  it('a version received before the current one is superseded on arrival (read late, e.g. from another partition after a restart)', () => {
    const a = versionPayload({ eventId: 'x', score: 3 });
    const b = versionPayload({ eventId: 'x', score: 10 });
    expect(verdictFor(history(b), fingerprintOf(a), 999, HOUR)).toEqual({ kind: 'superseded' });
    expect(verdictFor(history(''), fingerprintOf(a), 999, HOUR)).toEqual({ kind: 'superseded' });
    expect(currentIndex({ fingerprints: [1, 2, 3], payloads: ['', '', ''], receivedAts: [5, 9, 7] })).toBe(1);
    expect(currentIndex({ fingerprints: [1, 2], payloads: ['', ''], receivedAts: [5, 5] })).toBe(1);
  });

  it('a retraction of a known event retracts; of an unknown one finds nothing; twice is a re-send', () => {
    const a = versionPayload({ eventId: 'x', score: 3 });
    expect(verdictFor(history(a), RETRACTION_FINGERPRINT, 2_000, HOUR)).toEqual({ kind: 'retraction' });
    expect(verdictFor(undefined, RETRACTION_FINGERPRINT, 2_000, HOUR)).toEqual({ kind: 'not_found' });
    expect(verdictFor(history(a, ''), RETRACTION_FINGERPRINT, 2_000, HOUR)).toEqual({ kind: 'resend' });
  });

  it('the horizon counts from the first version: exactly the horizon is in, one millisecond more is out', () => {
    const a = versionPayload({ eventId: 'x', score: 3 });
    const b = fingerprintOf(versionPayload({ eventId: 'x', score: 4 }));
    expect(verdictFor(history(a), b, 1_000 + HOUR, HOUR)).toEqual({ kind: 'correction' });
    expect(verdictFor(history(a), b, 1_001 + HOUR, HOUR)).toEqual({ kind: 'past_horizon', firstReceivedAt: 1_000 });
    expect(verdictFor(history(a), RETRACTION_FINGERPRINT, 1_001 + HOUR, HOUR).kind).toBe('past_horizon');
  });
});

describe('what ingest answers about a body (classifyVersions)', () => {
  it('counts corrections and duplicates against what is known, and within the body itself', () => {
    const known = new Map([
      ['a', [1]],
      ['b', [2, 3]],
    ]);
    const body = [
      { eventId: 'a', fingerprint: 1 }, // same content as known: duplicate
      { eventId: 'a', fingerprint: 9 }, // other content: correction
      { eventId: 'b', fingerprint: 2 }, // an older version re-sent: duplicate
      { eventId: 'c', fingerprint: 5 }, // new
      { eventId: 'c', fingerprint: 6 }, // corrected in the same body
      { eventId: 'c', fingerprint: 6 }, // and re-sent
    ];
    expect(classifyVersions(body, known)).toEqual({ fresh: 1, duplicate: 3, corrected: 2 });
  });
});

describe('eventIds per version query (idChunks)', () => {
  it('over HTTP, groups that keep the URL short; embedded, one group', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `event-${String(i).padStart(4, '0')}`); // 10 characters each
    const chunks = idChunks({ mode: 'external' }, ids);
    // 3 × (10 + 3) = 39 per id: 153 ids fit 6,000.
    expect(chunks.map((c) => c.length)).toEqual([153, 153, 153, 153, 153, 153, 82]);
    expect(chunks.flat()).toEqual(ids);
    expect(idChunks({ mode: 'embedded' }, ids)).toEqual([ids]);
    expect(idChunks({ mode: 'external' }, [])).toEqual([]);
  });
});

describe('subtracting an event from an accumulator', () => {
  it('a survey response taken back leaves exactly the others', () => {
    const acc = emptySurvey();
    addSurvey(acc, { kind: 'nps', score: 10 });
    addSurvey(acc, { kind: 'nps', score: 2 });
    addSurvey(acc, { kind: 'ces', score: 6 });
    subtractAccumulator(acc, addSurvey(emptySurvey(), { kind: 'nps', score: 2 }));
    expect(acc).toEqual({ ...emptySurvey(), npsResponses: 1, npsPromoters: 1, cesResponses: 1, cesScoreSum: 6 });
  });

  it('a contact taken back leaves its sums and sketch buckets as if it had never been added', () => {
    const contact = (waitSec: number, abandoned: boolean) =>
      ({
        channel: 'voice',
        queue: 'q',
        waitSec,
        abandoned,
        handleSec: abandoned ? null : 300,
        resolved: true,
        transfers: 0,
      }) as never;
    const acc = emptyContact();
    addContact(acc, contact(12, false), DEFAULT_CONTACT_THRESHOLDS);
    const expected = structuredClone(acc);
    addContact(acc, contact(95, false), DEFAULT_CONTACT_THRESHOLDS);
    subtractAccumulator(acc, addContact(emptyContact(), contact(95, false), DEFAULT_CONTACT_THRESHOLDS));
    expect(acc).toEqual(expected);
  });
});

/** A family that keeps its events, to see exactly what a window counts. */
const list: Family<{ id: string; v: number }, { items: string[] }> = {
  name: 'list',
  create: () => ({ items: [] }),
  add: (s, e) => {
    s.items.push(`${e.id}=${e.v}`);
  },
  remove: (s, e) => {
    s.items.splice(s.items.indexOf(`${e.id}=${e.v}`), 1);
  },
};

function engine(): WindowEngine {
  const e = new WindowEngine({ windowSizeMs: MIN, outOfOrdernessMs: 1000, allowedLatenessMs: 2 * MIN, idlePartitionMs: 10_000 });
  e.register(list);
  return e;
}

const items = (e: WindowEngine) =>
  Object.fromEntries(e.due(T0, true).map((w) => [(w.windowStart - T0) / MIN, (w.state as { items: string[] }).items]));

describe('windows that know which version of an event they count', () => {
  const v1 = { fingerprint: 111, first: 111 };
  const v2 = { fingerprint: 222, first: 111 };

  it('a moved correction leaves the old minute and joins the new one; replaying either step changes nothing', () => {
    const e = engine();
    e.add('list', 'k', T0 + 10_000, 'p:0', 0, { id: 'a', v: 1 }, T0, 'a', undefined, v1);
    e.add('list', 'k', T0 + 20_000, 'p:0', 1, { id: 'b', v: 1 }, T0, 'b', undefined, v1);
    expect(e.remove('list', 'k', T0 + 10_000, 'p:0', 2, { id: 'a', v: 1 }, T0, 'a', v1)).toBe('removed');
    expect(e.add('list', 'k', T0 + MIN + 5_000, 'p:0', 2, { id: 'a', v: 2 }, T0, 'a', undefined, v2)).toBe('counted');
    // The same message again (a redelivery without the ledger): nothing more.
    expect(e.remove('list', 'k', T0 + 10_000, 'p:0', 2, { id: 'a', v: 1 }, T0, 'a', v1)).toBe('not_counted');
    expect(e.add('list', 'k', T0 + MIN + 5_000, 'p:0', 2, { id: 'a', v: 2 }, T0, 'a', undefined, v2)).toBe('duplicate');
    // The original redelivered: the window gave that version back once, it does not take it again.
    expect(e.add('list', 'k', T0 + 10_000, 'p:0', 0, { id: 'a', v: 1 }, T0, 'a', undefined, v1)).toBe('already_counted');
    expect(items(e)).toEqual({ 0: ['b=1'], 1: ['a=2'] });
  });

  it('a window removes only the version it counts', () => {
    const e = engine();
    e.add('list', 'k', T0 + 10_000, 'p:0', 0, { id: 'a', v: 2 }, T0, 'a', undefined, v2);
    expect(e.remove('list', 'k', T0 + 10_000, 'p:0', 1, { id: 'a', v: 1 }, T0, 'a', v1)).toBe('not_counted');
    expect(items(e)).toEqual({ 0: ['a=2'] });
  });

  it('a stored window seeded with its versions and retired versions judges a replay like the one that wrote it', () => {
    const e = engine();
    const idHash = [
      ...(() => {
        const w = engine();
        w.add('list', 'k', T0, 'p:0', 0, { id: 'a', v: 2 }, T0, 'a', undefined, v2);
        return w.due(T0, true)[0]?.ids ?? [];
      })(),
    ][0] as number;
    e.seed('list', 'k', T0, { items: ['a=2'] }, 5, new Map(), [idHash], { versions: new Map([[idHash, 222]]) });
    expect(e.add('list', 'k', T0, 'p:1', 9, { id: 'a', v: 2 }, T0, 'a', undefined, v2)).toBe('duplicate');
    expect(e.remove('list', 'k', T0, 'p:1', 9, { id: 'a', v: 1 }, T0, 'a', v1)).toBe('not_counted');
    expect(e.remove('list', 'k', T0, 'p:1', 9, { id: 'a', v: 2 }, T0, 'a', v2)).toBe('removed');
    expect(items(e)).toEqual({ 0: [] });
  });
});

describe('the probe family takes a result back', () => {
  const probe = (ts: number, attempts: number, successes: number) => ({ ts, attempts, successes }) as ProbeRecord;

  it('from the results it holds, and from counts read back from the store', () => {
    const registry = new MaintenanceRegistry();
    const held = probeFamily.create('svc\u001fnorth', T0);
    probeFamily.add(held, probe(T0 + 1, 10, 9));
    probeFamily.add(held, probe(T0 + 2, 4, 1));
    probeFamily.remove(held, probe(T0 + 2, 4, 1));
    expect(classify(held, registry)).toMatchObject({ attempts: 10, successes: 9 });

    const stored = probeStateFromRow({
      service: 'svc',
      region: 'north',
      samples: 2,
      attempts: 14,
      successes: 10,
      planned_attempts: 0,
      planned_successes: 0,
      retro_attempts: 0,
      retro_successes: 0,
    });
    probeFamily.remove(stored, probe(T0 + 2, 4, 1));
    expect(classify(stored, registry)).toMatchObject({ attempts: 10, successes: 9 });
  });
});
