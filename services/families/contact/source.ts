import { z } from 'zod';
import { commonFields, name, UNKNOWN } from '../../shared/sources/common.ts';
import type { SourceDefinition } from '../../shared/sources/source.ts';

/** One contact-center interaction as posted. */
export const contactInput = z.object({
  ...commonFields,
  service: commonFields.service.optional(),
  region: commonFields.region.optional(),
  channel: z.enum(['voice', 'chat', 'email', 'social', 'self-service']),
  queue: name(),
  waitSec: z
    .number()
    .finite()
    .min(0)
    .max(7 * 86_400),
  abandoned: z.boolean(),
  handleSec: z
    .number()
    .finite()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  resolved: z.boolean().optional(),
  transfers: z.number().int().min(0).max(1000).optional(),
  reason: z.string().max(500).optional(),
  agentId: name(256).optional(),
  customerId: name(256).optional(),
});

export type ContactInput = z.output<typeof contactInput>;

export interface ContactRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  channel: ContactInput['channel'];
  queue: string;
  waitSec: number;
  abandoned: boolean;
  handleSec: number | null;
  resolved: boolean | null;
  transfers: number | null;
  reason: string | null;
  agentId: string | null;
  customerId: string | null;
}

export const contactSource: SourceDefinition<ContactInput, ContactRecord> = {
  name: 'contact',
  schemaFile: 'contact.v1.avsc',
  input: contactInput,
  toRecord: (e, receivedAt) => ({
    eventId: e.eventId,
    ts: e.ts,
    receivedAt,
    service: e.service ?? UNKNOWN,
    region: e.region ?? UNKNOWN,
    segment: e.segment ?? null,
    origin: e.origin ?? 'customer',
    channel: e.channel,
    queue: e.queue,
    waitSec: e.waitSec,
    abandoned: e.abandoned,
    handleSec: e.handleSec ?? null,
    resolved: e.resolved ?? null,
    transfers: e.transfers ?? null,
    reason: e.reason ?? null,
    agentId: e.agentId ?? null,
    customerId: e.customerId ?? null,
  }),
  partitionKey: (r) => `${r.service}|${r.region}`,
  eventTime: (r) => r.ts,
};
