import type { ContactRecord } from '../../services/families/contact/source.ts';
import type { ProbeRecord } from '../../services/families/probe/source.ts';
import type { SocialRecord } from '../../services/families/social/source.ts';
import type { SurveyRecord } from '../../services/families/survey/source.ts';

/** Builders for full records as the bus carries them, so the tests also prove the families accept them. */

const T = Date.UTC(2026, 10, 23, 10, 0, 0);
let seq = 0;
const common = () => {
  seq += 1;
  return { eventId: `e${seq}`, ts: T, receivedAt: T, service: 'broadband', region: 'north', segment: null, origin: 'network' };
};

export const probe = (fields: Partial<ProbeRecord> = {}): ProbeRecord => ({
  ...common(),
  probeId: 'p1',
  probeType: 'active',
  attempts: 1,
  successes: 1,
  latencyMs: null,
  jitterMs: null,
  packetLossPct: null,
  packetsSent: null,
  throughputKbps: null,
  mos: null,
  ...fields,
});

/** A one-test result. */
export const oneTest = (success: boolean, fields: Partial<ProbeRecord> = {}): ProbeRecord =>
  probe({ attempts: 1, successes: success ? 1 : 0, ...fields });

/** A counter sample. */
export const counter = (attempts: number, successes: number, fields: Partial<ProbeRecord> = {}): ProbeRecord =>
  probe({ attempts, successes, ...fields });

export const contact = (fields: Partial<ContactRecord> = {}): ContactRecord => ({
  ...common(),
  origin: 'customer',
  channel: 'voice',
  queue: 'billing',
  waitSec: 0,
  abandoned: false,
  handleSec: null,
  resolved: null,
  transfers: null,
  reason: null,
  agentId: null,
  customerId: null,
  ...fields,
});

export const answered = (waitSec: number, fields: Partial<ContactRecord> = {}): ContactRecord =>
  contact({ waitSec, abandoned: false, ...fields });

export const abandon = (waitSec: number): ContactRecord => contact({ waitSec, abandoned: true });

export const survey = (kind: SurveyRecord['kind'], score: number): SurveyRecord => ({
  ...common(),
  origin: 'customer',
  kind,
  score,
  touchpoint: null,
  comment: null,
  customerId: null,
});

export const mention = (sentiment: number): SocialRecord => ({
  ...common(),
  origin: 'customer',
  platform: 'x',
  text: null,
  sentiment,
  sentimentMethod: 'provided',
  author: null,
  reach: null,
});

/** The tests' one seeded PRNG (tests/support/random.ts), under the name these tests use. */
export { seededRandom as prng } from '../support/random.ts';
