import { z } from 'zod';
import { builtInSource } from '../../shared/sources/built-in.ts';
import type { ContactRecord } from './record.ts';

export type { ContactRecord } from './record.ts';

export const CONTACT_CHANNELS = ['voice', 'chat', 'email', 'social', 'self-service'] as const;

const UP_TO_A_WEEK = { min: 0, max: 7 * 86_400 };

/**
 * One contact-center interaction, declared by schemas/avro/contact.v1.avsc. Service and
 * region may be left out (stored as `unknown`); the channel is text on the bus and one of
 * `CONTACT_CHANNELS` when posted.
 */
export const contactSource = builtInSource<ContactRecord>({
  name: 'contact',
  schemaFile: 'contact.v1.avsc',
  optional: ['service', 'region'],
  replace: { channel: z.enum(CONTACT_CHANNELS) },
  names: { queue: 128, agentId: 256, customerId: 256 },
  checks: {
    waitSec: UP_TO_A_WEEK,
    handleSec: UP_TO_A_WEEK,
    transfers: { min: 0, max: 1000 },
    reason: { maxLength: 500 },
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
});
