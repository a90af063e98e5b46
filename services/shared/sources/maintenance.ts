import { builtInSource } from './built-in.ts';
import type { MaintenanceRecord } from './maintenance-record.ts';

export type { MaintenanceRecord } from './maintenance-record.ts';

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

/**
 * A planned-maintenance declaration, declared by schemas/avro/maintenance.v1.avsc. Posted
 * without `region`, it covers every region; `eventId`, `ts` and `declaredAt` may be left out
 * (see `trustedDeclaredAt`).
 */
export const maintenanceSource = builtInSource<MaintenanceRecord>({
  name: 'maintenance',
  schemaFile: 'maintenance.v1.avsc',
  optional: ['eventId', 'ts', 'declaredAt'],
  names: { maintenanceId: 256 },
  timestamps: ['start', 'end', 'declaredAt'],
  checks: { description: { maxLength: 2000 } },
  refine(e, ctx) {
    if (e.start !== undefined && e.end !== undefined && e.end <= e.start) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
    }
  },
  derive(e, record, receivedAt, context) {
    const declaredAt = trustedDeclaredAt(e.declaredAt, receivedAt, context?.mayBackdate ?? false);
    record.declaredAt = declaredAt;
    record.eventId = e.eventId ?? `${record.maintenanceId}@${declaredAt}`;
    record.ts = e.ts ?? declaredAt;
  },
  // Keyed by service so every declaration for one service is ordered on one partition.
  partitionKey: (r) => r.service,
});
