/**
 * Event builders for the embedded integration tests: one key (broadband / east; contacts
 * in consumer / voice / billing), the fields under test given by the caller. Spread and
 * override `service` or `region` for other keys.
 */
const KEY = { service: 'broadband', region: 'east' } as const;

export const contact = (id: string, ts: string, fields: Record<string, unknown>) => ({
  eventId: id,
  ts,
  ...KEY,
  segment: 'consumer',
  channel: 'voice',
  queue: 'billing',
  ...fields,
});

export const survey = (id: string, ts: string, kind: string, score: number) => ({ eventId: id, ts, ...KEY, kind, score });

export const social = (id: string, ts: string, sentiment: number) => ({ eventId: id, ts, ...KEY, platform: 'x', sentiment });
