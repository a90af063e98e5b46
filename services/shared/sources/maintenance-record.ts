// Generated from schemas/avro/maintenance.v1.avsc by `npm run generate:records`: do not edit by hand.

/** A planned-outage declaration from change management. A later declaration with the same maintenanceId replaces the earlier one. */
export interface MaintenanceRecord {
  eventId: string;
  /** event time, epoch milliseconds UTC */
  ts: number;
  receivedAt: number;
  origin: string;
  maintenanceId: string;
  service: string;
  /** null: every region of the service */
  region: string | null;
  /** epoch ms, inclusive */
  start: number;
  /** epoch ms, exclusive */
  end: number;
  /** epoch ms; later than start makes the window retroactive */
  declaredAt: number;
  description: string | null;
}
