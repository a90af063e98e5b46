import { z } from 'zod';
import { commonFields } from '../../shared/sources/common.ts';
import type { SourceDefinition } from '../../shared/sources/source.ts';

const ratio = (max: number) => z.number().finite().min(0).max(max);

/** A probe result as posted: one test (`success`) or one counter sample (`attempts` + `successes`). */
export const probeInput = z
  .object({
    ...commonFields,
    probeId: commonFields.eventId,
    probeType: z.enum(['active', 'passive', 'agent']),
    success: z.boolean().optional(),
    attempts: z.number().int().min(0).optional(),
    successes: z.number().int().min(0).optional(),
    latencyMs: ratio(3_600_000).optional(),
    jitterMs: ratio(3_600_000).optional(),
    packetLossPct: ratio(100).optional(),
    packetsSent: z.number().int().min(0).optional(),
    throughputKbps: ratio(1e9).optional(),
    mos: z.number().min(1).max(5).optional(),
  })
  .superRefine((e, ctx) => {
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
  });

export type ProbeInput = z.output<typeof probeInput>;

/** The probe record on the bus (schemas/avro/probe.v1.avsc). */
export interface ProbeRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  probeId: string;
  probeType: 'active' | 'passive' | 'agent';
  attempts: number;
  successes: number;
  latencyMs: number | null;
  jitterMs: number | null;
  packetLossPct: number | null;
  packetsSent: number | null;
  throughputKbps: number | null;
  mos: number | null;
}

export const probeSource: SourceDefinition<ProbeInput, ProbeRecord> = {
  name: 'probe',
  schemaFile: 'probe.v1.avsc',
  input: probeInput,
  toRecord(e, receivedAt) {
    const single = e.success !== undefined;
    return {
      eventId: e.eventId,
      ts: e.ts,
      receivedAt,
      service: e.service,
      region: e.region,
      segment: e.segment ?? null,
      origin: e.origin ?? 'network',
      probeId: e.probeId,
      probeType: e.probeType,
      attempts: single ? 1 : (e.attempts ?? 0),
      successes: single ? (e.success ? 1 : 0) : (e.successes ?? 0),
      latencyMs: e.latencyMs ?? null,
      jitterMs: e.jitterMs ?? null,
      packetLossPct: e.packetLossPct ?? null,
      packetsSent: e.packetsSent ?? null,
      throughputKbps: e.throughputKbps ?? null,
      mos: e.mos ?? null,
    };
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
  eventTime: (r) => r.ts,
};
