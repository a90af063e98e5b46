/**
 * Serviceability and Availability (design doc, "KPIs").
 *
 * Both are success / attempt ratios over probe results. Serviceability counts every
 * result, whatever caused an outage. Availability leaves out results that fell inside
 * planned maintenance. Maintenance declared only after it started is "retroactive": it
 * is reported, and by default it does not excuse downtime (`excuseRetroactive`).
 *
 * In time terms, with period T, planned downtime P and unplanned downtime U:
 *   Serviceability = (T − P − U) / T      Availability = (T − P − U) / (T − P)
 * Probe results sample that time, so the counts below estimate exactly these.
 */

export interface AvailabilityCounts {
  attempts: number;
  successes: number;
  /** Inside maintenance declared before it started. */
  plannedAttempts: number;
  plannedSuccesses: number;
  /** Inside maintenance declared only after it started (and no advance declaration). */
  retroAttempts: number;
  retroSuccesses: number;
}

export const zeroAvailabilityCounts = (): AvailabilityCounts => ({
  attempts: 0,
  successes: 0,
  plannedAttempts: 0,
  plannedSuccesses: 0,
  retroAttempts: 0,
  retroSuccesses: 0,
});

export interface MaintenanceWindow {
  maintenanceId: string;
  service: string;
  /** null: every region of the service. */
  region: string | null;
  startMs: number;
  endMs: number;
  /** When the declaration counts as made: its receipt, or earlier only from a maintenance-history token. */
  declaredAtMs: number;
  /** When cxvitals received it; later than declaredAtMs only for a back-dated declaration. */
  receivedAtMs?: number;
  description?: string | null;
}

/**
 * A declaration made after the window began: reported, and not excused by default.
 * declaredAtMs is trusted here because ingest sets it to the receipt time unless the
 * sender may back-date (shared/sources/maintenance.ts `trustedDeclaredAt`).
 */
export const isRetroactive = (m: Pick<MaintenanceWindow, 'startMs' | 'declaredAtMs'>): boolean => m.declaredAtMs > m.startMs;

/** Declared (by a maintenance-history token) as made before cxvitals received it. */
export const isBackdated = (m: Pick<MaintenanceWindow, 'declaredAtMs' | 'receivedAtMs'>): boolean =>
  m.receivedAtMs !== undefined && m.declaredAtMs < m.receivedAtMs;

export type MaintenanceCover = 'planned' | 'retroactive' | 'none';

/**
 * How a probe result at `tsMs` for (service, region) is covered by maintenance.
 * An advance declaration wins over a retroactive one that overlaps it.
 */
export function maintenanceCover(
  tsMs: number,
  service: string,
  region: string,
  windows: Iterable<MaintenanceWindow>,
): MaintenanceCover {
  let cover: MaintenanceCover = 'none';
  for (const m of windows) {
    if (m.service !== service || (m.region !== null && m.region !== region)) continue;
    if (tsMs < m.startMs || tsMs >= m.endMs) continue;
    if (!isRetroactive(m)) return 'planned';
    cover = 'retroactive';
  }
  return cover;
}

export function addCounts(into: AvailabilityCounts, from: AvailabilityCounts): AvailabilityCounts {
  into.attempts += from.attempts;
  into.successes += from.successes;
  into.plannedAttempts += from.plannedAttempts;
  into.plannedSuccesses += from.plannedSuccesses;
  into.retroAttempts += from.retroAttempts;
  into.retroSuccesses += from.retroSuccesses;
  return into;
}

/** successes / attempts over every probe result; null when there were no attempts. */
export function serviceability(c: AvailabilityCounts): number | null {
  return c.attempts > 0 ? c.successes / c.attempts : null;
}

/** The attempts and successes Availability is computed over (outside excused maintenance). */
export function availabilityBasis(
  c: AvailabilityCounts,
  options: { excuseRetroactive: boolean },
): { attempts: number; successes: number } {
  const excusedAttempts = c.plannedAttempts + (options.excuseRetroactive ? c.retroAttempts : 0);
  const excusedSuccesses = c.plannedSuccesses + (options.excuseRetroactive ? c.retroSuccesses : 0);
  return { attempts: c.attempts - excusedAttempts, successes: c.successes - excusedSuccesses };
}

/**
 * successes / attempts over probe results outside excused maintenance; null when every
 * attempt fell inside it (a window wholly in planned maintenance has no Availability).
 */
export function availability(c: AvailabilityCounts, options: { excuseRetroactive: boolean }): number | null {
  const basis = availabilityBasis(c, options);
  return basis.attempts > 0 ? basis.successes / basis.attempts : null;
}
