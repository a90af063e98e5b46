import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../services/shared/log.ts';
import { getSource } from '../../services/shared/sources/registry.ts';
import { CustomerSignals, type Outage, onScale } from '../../services/simulator/customer-signals.ts';
import { SIM_REGIONS, SIM_SERVICES, Simulator } from '../../services/simulator/simulator.ts';
import { seededRandom } from '../support/random.ts';

/**
 * The simulator feeds the demo through the same ingest path as any source, so every event
 * it makes must pass ingest's own validation: one invalid event is a 400 in the demo
 * ("simulator produced invalid events", a CES of 8 was seen).
 */

const MINUTE = 60_000;

function ingestIssues(source: string, events: object[]): string[] {
  const input = getSource(source)?.input ?? expect.fail(`no source ${source}`);
  return events.flatMap((e) => {
    const r = input.safeParse(e);
    return r.success ? [] : r.error.issues.map((i) => `${source} ${JSON.stringify(e)}: ${i.path.join('.')}: ${i.message}`);
  });
}

describe('onScale', () => {
  it('maps [0, 1] onto every integer of lo…hi and never past hi', () => {
    expect([0, 0.14, 0.15, 0.5, 0.99, 1].map((x) => onScale(x, 1, 7))).toEqual([1, 1, 2, 4, 7, 7]);
    expect([0, 0.2, 0.999, 1].map((x) => onScale(x, 1, 5))).toEqual([1, 2, 5, 5]);
  });
});

describe('customer signals', () => {
  it('every contact, survey answer and post passes ingest validation, in every phase of an outage', () => {
    const signals = new CustomerSignals(seededRandom(7), SIM_SERVICES, SIM_REGIONS);
    const t0 = Date.UTC(2026, 11, 1, 0, 0);
    // An outage on every key an hour in: the contact surge, the social surge and an hour of unhappy scores follow it.
    const outages: Outage[] = SIM_SERVICES.flatMap((service) =>
      SIM_REGIONS.map((region) => ({ service, region, startMs: t0 + 60 * MINUTE, endMs: t0 + 65 * MINUTE })),
    );
    const issues: string[] = [];
    const kinds = new Map<string, Set<number>>();
    let events = 0;
    for (let t = t0; t < t0 + 24 * 60 * MINUTE; t += MINUTE) {
      const slice = signals.slice(t, MINUTE, outages);
      issues.push(...ingestIssues('contact', slice.contact), ...ingestIssues('survey', slice.survey));
      issues.push(...ingestIssues('social', slice.social));
      events += slice.contact.length + slice.survey.length + slice.social.length;
      for (const s of slice.survey as Array<{ kind: string; score: number }>) {
        kinds.set(s.kind, (kinds.get(s.kind) ?? new Set()).add(s.score));
      }
    }
    expect(issues.slice(0, 5)).toEqual([]);
    expect(events).toBeGreaterThan(40_000);
    // The whole of each scale is used, its ends included, and nothing beyond it.
    expect([...(kinds.get('ces') ?? [])].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...(kinds.get('csat') ?? [])].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(Math.max(...(kinds.get('nps') ?? []))).toBe(10);
  });
});

describe('the simulator', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends only valid events over two hours of live ticks after its seeded history', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 1, 9, 0) });
    const issues: string[] = [];
    const bySource = new Map<string, number>();
    const simulator = new Simulator({
      submit: async (source, events) => {
        issues.push(...ingestIssues(source, events));
        bySource.set(source, (bySource.get(source) ?? 0) + events.length);
      },
      log: silentLogger,
      seed: 11,
      historyMinutes: 30,
      now: () => Date.now(),
    });
    await simulator.start({ seedHistory: true });
    await vi.advanceTimersByTimeAsync(2 * 60 * MINUTE);
    await simulator.stop();
    expect(issues.slice(0, 5)).toEqual([]);
    expect(Object.fromEntries([...bySource].map(([s, n]) => [s, n > 0]))).toEqual({
      probe: true,
      maintenance: true,
      contact: true,
      survey: true,
      social: true,
    });
  });
});
