import { z } from 'zod';
import { builtInSource } from '../../shared/sources/built-in.ts';
import type { ProbeRecord } from './record.ts';

export type { ProbeRecord } from './record.ts';

const upTo = (max: number) => ({ min: 0, max });

/**
 * A probe result, declared by schemas/avro/probe.v1.avsc (the record and its type). Posted
 * as one test (`success`) or one counter sample (`attempts` + `successes`); either way the
 * record holds attempts and successes.
 */
export const probeSource = builtInSource<ProbeRecord, { success?: boolean }>({
  name: 'probe',
  schemaFile: 'probe.v1.avsc',
  names: { probeId: 256 },
  optional: ['attempts', 'successes'],
  extra: { success: z.boolean().optional() },
  checks: {
    attempts: { min: 0 },
    successes: { min: 0 },
    latencyMs: upTo(3_600_000),
    jitterMs: upTo(3_600_000),
    packetLossPct: upTo(100),
    packetsSent: { min: 0 },
    throughputKbps: upTo(1e9),
    mos: { min: 1, max: 5 },
  },
  refine(e, ctx) {
    const counter = e.attempts !== undefined || e.successes !== undefined;
    if (e.success !== undefined && counter) {
      ctx.addIssue({ code: 'custom', path: ['success'], message: 'give either success or attempts + successes, not both' });
    } else if (e.success === undefined && !counter) {
      ctx.addIssue({
        code: 'custom',
        path: ['success'],
        message: 'required: success (one test) or attempts + successes (a counter sample)',
      });
    } else if (counter) {
      if (e.attempts === undefined) ctx.addIssue({ code: 'custom', path: ['attempts'], message: 'required with successes' });
      else if (e.successes === undefined)
        ctx.addIssue({ code: 'custom', path: ['successes'], message: 'required with attempts' });
      else if (e.successes > e.attempts)
        ctx.addIssue({ code: 'custom', path: ['successes'], message: 'must not exceed attempts' });
    }
  },
  derive(e, record) {
    if (e.success !== undefined) {
      record.attempts = 1;
      record.successes = e.success ? 1 : 0;
    }
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
});
