import { describe, expect, it } from 'vitest';
import { addProbe, emptyProbe, mergeProbe, type ProbeAccumulator, probeKpis } from '../../services/families/probe/accumulator.ts';
import type { ProbeRecord } from '../../services/families/probe/source.ts';
import type { MaintenanceCover } from '../../services/shared/kpi/availability.ts';
import { bucketKey, bucketValue } from '../../services/shared/kpi/sketch.ts';
import { counter, oneTest, probe } from './records.ts';

const windowOf = (records: ProbeRecord[], cover: MaintenanceCover = 'none'): ProbeAccumulator => {
  const acc = emptyProbe();
  for (const r of records) addProbe(acc, r, cover);
  return acc;
};

/** What the sketch reads a value back as (within 1 % of it). */
const sketched = (v: number) => bucketValue(bucketKey(v));

describe('probe KPIs: test success rate, Serviceability and Availability', () => {
  it('counts one-test results and counter samples together, split by maintenance cover', () => {
    const acc = windowOf([oneTest(true), oneTest(true), oneTest(false), counter(10, 8)]); // 13 attempts, 10 successes
    addProbe(acc, counter(2, 0), 'planned'); // declared in advance: excused in Availability
    addProbe(acc, oneTest(false), 'retroactive'); // declared late: not excused by default
    const k = probeKpis(acc);
    // attempts 13 + 2 + 1 = 16, successes 10
    expect(k.testSuccessRate).toBe(10 / 16);
    expect(k.serviceability).toBe(10 / 16);
    // Availability leaves out the 2 planned attempts: 10 / 14
    expect(k.availability).toBe(10 / 14);
    // Excusing retroactive maintenance too: 10 / 13
    expect(probeKpis(acc, { excuseRetroactive: true }).availability).toBe(10 / 13);
  });

  it('a window of counter samples only has a success rate and nothing else', () => {
    const k = probeKpis(windowOf([counter(100, 97), counter(50, 50)]));
    expect(k.testSuccessRate).toBe(147 / 150); // 0.98
    expect(k).toMatchObject({ latencyP50Ms: null, latencyP95Ms: null, jitterMs: null, packetLossPct: null });
    expect(k).toMatchObject({ throughputP50Kbps: null, mos: null });
  });

  it('a window wholly in planned maintenance has Serviceability but no Availability', () => {
    const k = probeKpis(windowOf([oneTest(false), oneTest(true)], 'planned'));
    expect(k.serviceability).toBe(0.5);
    expect(k.availability).toBeNull();
  });

  it('an empty window has no KPI at all', () => {
    expect(Object.values(probeKpis(emptyProbe())).every((v) => v === null)).toBe(true);
  });
});

describe('probe KPIs: latency, jitter, throughput, MOS', () => {
  it('latency p50 and p95 are the sketch values of ranks ⌊0.5·19⌋ = 9 and ⌊0.95·19⌋ = 18', () => {
    // 10, 20, …, 200 ms: rank 9 is 100 ms, rank 18 is 190 ms.
    const acc = windowOf(Array.from({ length: 20 }, (_, i) => oneTest(true, { latencyMs: 10 * (i + 1) })));
    const k = probeKpis(acc);
    expect(k.latencyP50Ms).toBe(sketched(100));
    expect(k.latencyP95Ms).toBe(sketched(190));
    expect(Math.abs((k.latencyP50Ms ?? 0) - 100)).toBeLessThanOrEqual(1); // 1 % of 100
  });

  it('jitter and MOS are means over the results that carry them', () => {
    const acc = windowOf([
      oneTest(true, { jitterMs: 2, mos: 4 }),
      oneTest(true, { jitterMs: 4 }),
      oneTest(true, { mos: 3.5 }),
      oneTest(true),
    ]);
    const k = probeKpis(acc);
    expect(k.jitterMs).toBe(3); // (2 + 4) / 2
    expect(k.mos).toBe(3.75); // (4 + 3.5) / 2
  });

  it('throughput p50 is the sketch value of the lower median', () => {
    // 1000, 5000, 20000 kbps: rank ⌊0.5·2⌋ = 1 → 5000
    const acc = windowOf([1000, 20_000, 5000].map((t) => oneTest(true, { throughputKbps: t })));
    expect(probeKpis(acc).throughputP50Kbps).toBe(sketched(5000));
  });
});

describe('probe KPIs: packet loss', () => {
  const weighted = [probe({ packetLossPct: 1, packetsSent: 100 }), probe({ packetLossPct: 4, packetsSent: 300 })];
  const unweighted = [probe({ packetLossPct: 1.5 }), probe({ packetLossPct: 0.5 })];

  it('weights by packets sent when every sample says how many', () => {
    // (1·100 + 4·300) / (100 + 300) = 1300 / 400 = 3.25 %; the plain mean would be 2.5 %
    expect(probeKpis(windowOf(weighted)).packetLossPct).toBe(3.25);
  });

  it('is the mean of samples when none says how many packets', () => {
    expect(probeKpis(windowOf(unweighted)).packetLossPct).toBe(1); // (1.5 + 0.5) / 2
  });

  it('in a mixed window, each group weighs by its samples and packets decide inside the weighted group', () => {
    // (W · weighted loss + Σ unweighted) / (W + U) = (2 · 3.25 + 2) / (2 + 2) = 8.5 / 4
    expect(probeKpis(windowOf([...weighted, ...unweighted])).packetLossPct).toBe(2.125);
    // Same as giving each unweighted sample the mean weighted packets (400 / 2 = 200):
    // (1300 + 200 · 1.5 + 200 · 0.5) / (400 + 400) = 1700 / 800 = 2.125
  });

  it('merging a weighted-only and an unweighted-only window gives the mixed window', () => {
    const merged = mergeProbe(windowOf(weighted), windowOf(unweighted));
    expect(probeKpis(merged).packetLossPct).toBe(2.125);
  });

  it('leaves out a sample that sent no packets', () => {
    expect(probeKpis(windowOf([...weighted, probe({ packetLossPct: 100, packetsSent: 0 })])).packetLossPct).toBe(3.25);
  });
});

describe('probe accumulator merge', () => {
  it('the merge of two windows equals the window of all their events, and leaves both unchanged', () => {
    const first = [
      oneTest(true, { latencyMs: 12, jitterMs: 1, packetLossPct: 2, packetsSent: 50, throughputKbps: 9000, mos: 4 }),
      counter(5, 4, { latencyMs: 80 }),
    ];
    const second = [oneTest(false, { latencyMs: 300, packetLossPct: 10, mos: 2 }), counter(20, 20, { throughputKbps: 100 })];
    const a = windowOf(first);
    const b = windowOf(second);
    const before = structuredClone(a);
    const merged = mergeProbe(a, b);
    expect(merged).toEqual(windowOf([...first, ...second]));
    expect(probeKpis(merged)).toEqual(probeKpis(windowOf([...first, ...second])));
    expect(a).toEqual(before);
  });

  it('merge with an empty window is the identity', () => {
    const a = windowOf([oneTest(true, { latencyMs: 5 })]);
    expect(mergeProbe(a, emptyProbe())).toEqual(a);
    expect(mergeProbe(emptyProbe(), a)).toEqual(a);
  });
});
