/**
 * GET /api/v1/availability answers from the read model (services/shared/vitals/availability.ts);
 * the route itself is declared in server.ts.
 */
export {
  type AvailabilityBucket,
  type AvailabilityQuery,
  type AvailabilityReport,
  type MaintenanceInRange,
  readAvailability,
} from '../shared/vitals/availability.ts';
