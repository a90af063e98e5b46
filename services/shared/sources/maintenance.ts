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

export const maintenanceSource: SourceDefinition<MaintenanceInput, MaintenanceRecord> = {
  name: 'maintenance',
  schemaFile: 'maintenance.v1.avsc',
  input: maintenanceInput,
  toRecord(e, receivedAt) {
    // declaredAt defaults to the time the declaration reached cxvitals: a declaration
    // posted after the window began is retroactive unless it says otherwise.
    const declaredAt = e.declaredAt ?? receivedAt;
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
