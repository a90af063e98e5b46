import { describe, expect, it } from 'vitest';
import { getSource } from '../../services/shared/sources/registry.ts';

/** Data from employees is data the pipeline takes (design doc, goals step 1: partners, managers and employees). */

const survey = {
  eventId: 's-1',
  ts: '2026-03-02T10:00:00Z',
  service: 'broadband',
  region: 'north',
  kind: 'nps',
  score: 9,
};

describe('origin', () => {
  it('accepts employee beside customer, network, partner and manager, and keeps it on the record', () => {
    const source = getSource('survey');
    if (!source) throw new Error('no survey source');
    for (const origin of ['customer', 'network', 'partner', 'manager', 'employee']) {
      const parsed = source.input.safeParse({ ...survey, origin });
      expect(parsed.success, origin).toBe(true);
      const record = source.toRecord(parsed.data, Date.parse('2026-03-02T10:00:01Z')) as { origin: string };
      expect(record.origin).toBe(origin);
    }
  });

  it('refuses any other origin, naming the ones it takes', () => {
    const parsed = getSource('survey')?.input.safeParse({ ...survey, origin: 'robot' });
    expect(parsed?.success).toBe(false);
    const issue = parsed?.error?.issues[0];
    expect([issue?.path, issue?.message]).toEqual([
      ['origin'],
      'Invalid option: expected one of "customer"|"network"|"partner"|"manager"|"employee"',
    ]);
  });
});
