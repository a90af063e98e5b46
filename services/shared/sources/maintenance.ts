import { z } from 'zod';
import { commonFields, name, timestamp } from './common.ts';
import type { SourceDefinition } from './source.ts';

/** A planned-maintenance declaration as posted. `region` absent = every region. */
export const maintenanceInput = z
  .object({
    eventId: commonFields.eventId.optional(),
    ts: timestamp.optional(),
    origin: commonFields.origin,
    maintenanceId: name(256),
    service: name(),
    region: name().optional(),
    start: timestamp,
    end: timestamp,
    declaredAt: timestamp.optional(),
    description: z.string().max(2000).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.end <= e.start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
  });

export type MaintenanceInput = z.output<typeof maintenanceInput>;

/** The maintenance record on the bus (schemas/avro/maintenance.v1.avsc). */
export interface MaintenanceRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  origin: string;
  maintenanceId: string;
  service: string;
  region: string | null;
  start: number;
  end: number;
  declaredAt: number;
  description: string | null;
}

/**
 * When a declaration counts as made: when cxvitals received it, whatever the sender
 * claims, so a declaration posted after its window began is retroactive (reported, not
 * excused by default). A `declaredAt` earlier than receipt is kept only from a token
 * that may back-date (`maintenance-history`, for importing a change-management
 * system's history); the record's receivedAt shows it was back-dated. A later
 * `declaredAt` (announced ahead) is kept as given. Issue 15, finding 4: a back-dated
 * declaration turned an outage into planned downtime (Availability 0.5 → 1.0).
 */
export function trustedDeclaredAt(claimed: number | undefined, receivedAt: number, mayBackdate: boolean): number {
  if (claimed === undefined) return receivedAt;
  return claimed < receivedAt && !mayBackdate ? receivedAt : claimed;
}

export const maintenanceSource: SourceDefinition<MaintenanceInput, MaintenanceRecord> = {
  name: 'maintenance',
  schemaFile: 'maintenance.v1.avsc',
  input: maintenanceInput,
  toRecord(e, receivedAt, context) {
    const declaredAt = trustedDeclaredAt(e.declaredAt, receivedAt, context?.mayBackdate ?? false);
    return {
      eventId: e.eventId ?? `${e.maintenanceId}@${declaredAt}`,
      ts: e.ts ?? declaredAt,
      receivedAt,
      origin: e.origin ?? 'manager',
      maintenanceId: e.maintenanceId,
      service: e.service,
      region: e.region ?? null,
      start: e.start,
      end: e.end,
      declaredAt,
      description: e.description ?? null,
    };
  },
  // Keyed by service so every declaration for one service is ordered on one partition.
  partitionKey: (r) => r.service,
  eventTime: (r) => r.ts,
};
