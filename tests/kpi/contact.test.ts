import { describe, expect, it } from 'vitest';
import {
  addContact,
  type ContactAccumulator,
  type ContactThresholds,
  contactKpis,
  emptyContact,
  mergeContact,
} from '../../services/families/contact/accumulator.ts';
import type { ContactRecord } from '../../services/families/contact/source.ts';
import { abandon, answered } from './records.ts';

const windowOf = (records: ContactRecord[], thresholds?: ContactThresholds): ContactAccumulator => {
  const acc = emptyContact();
  for (const r of records) addContact(acc, r, thresholds);
  return acc;
};

/** A hand-made queue minute; defaults: short abandon < 5 s, service level ≤ 20 s. */
const minute = [
  answered(10, { handleSec: 300, resolved: true, transfers: 0 }), // a
  answered(20, { handleSec: 200, resolved: false, transfers: 1 }), // b: exactly at the service level
  answered(30, { handleSec: 400, resolved: true, transfers: 0 }), // c
  answered(60), // d: answered, but no handle time reported: not handled
  answered(0, { handleSec: 100 }), // h: handled, no resolution or transfers reported
  abandon(3), // e: short abandon
  abandon(5), // f: exactly at the limit: not short
  abandon(40), // g
];

describe('contact KPIs on a hand-made minute', () => {
  const k = contactKpis(windowOf(minute));

  it('counts offered = answered + abandoned, short abandons apart', () => {
    expect(k).toMatchObject({ answered: 5, abandoned: 2, shortAbandons: 1, offered: 7 });
  });

  it('ASA = total wait of answered / answered', () => {
    expect(k.asaSec).toBe(24); // (10 + 20 + 30 + 60 + 0) / 5
  });

  it('service level = answered within 20 s (inclusive) / offered', () => {
    expect(k.serviceLevel).toBe(3 / 7); // a (10), b (20), h (0)
  });

  it('abandonment rate = abandoned (not short) / offered', () => {
    expect(k.abandonmentRate).toBe(2 / 7); // f, g
  });

  it('AHT = total handle time / handled (answered with a handle time)', () => {
    expect(k.ahtSec).toBe(250); // (300 + 200 + 400 + 100) / 4
  });

  it('FCR and transfer rate rest on the handled contacts that report the field', () => {
    expect(k.fcr).toBe(2 / 3); // a, c resolved of a, b, c reporting
    expect(k.transferRate).toBe(1 / 3); // b of a, b, c reporting
  });
});

describe('contact KPI edge cases', () => {
  it('a window of short abandons only: nothing offered, every ratio undefined', () => {
    const k = contactKpis(windowOf([abandon(1), abandon(2), abandon(4.9)]));
    expect(k).toEqual({
      offered: 0,
      answered: 0,
      abandoned: 0,
      shortAbandons: 3,
      asaSec: null,
      serviceLevel: null,
      abandonmentRate: null,
      ahtSec: null,
      fcr: null,
      transferRate: null,
    });
  });

  it('answered contacts without handling data have ASA and service level but no AHT, FCR or transfer rate', () => {
    const k = contactKpis(windowOf([answered(15), answered(25)]));
    expect(k).toMatchObject({ asaSec: 20, serviceLevel: 0.5, ahtSec: null, fcr: null, transferRate: null });
  });

  it('thresholds are configurable: shortAbandonSec 0 turns short abandons off, serviceLevelSec moves the bar', () => {
    const k = contactKpis(windowOf(minute, { shortAbandonSec: 0, serviceLevelSec: 10 }));
    expect(k).toMatchObject({ shortAbandons: 0, abandoned: 3, offered: 8 });
    expect(k.serviceLevel).toBe(2 / 8); // a (10) and h (0)
    expect(k.abandonmentRate).toBe(3 / 8);
  });

  it('an empty window has zero counts and null ratios', () => {
    expect(contactKpis(emptyContact())).toMatchObject({ offered: 0, asaSec: null, serviceLevel: null, ahtSec: null });
  });
});

describe('contact accumulator merge', () => {
  it('the merge of two windows equals the window of all their events', () => {
    const a = windowOf(minute.slice(0, 3));
    const b = windowOf(minute.slice(3));
    expect(mergeContact(a, b)).toEqual(windowOf(minute));
    expect(contactKpis(mergeContact(a, b))).toEqual(contactKpis(windowOf(minute)));
  });
});
