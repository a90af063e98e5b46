/**
 * probe_kpi_1m rows written by hand: 40 minutes of one (service, region) from `t0`, 24
 * attempts a minute, all successful except in the minutes listed as down (where
 * `downSuccesses` of the 24 succeed). For tests of what reads those rows (incidents).
 */
export function probeMinuteRows(
  service: string,
  region: string,
  options: { t0: number; down: readonly number[]; downSuccesses: number },
): Record<string, unknown>[] {
  return Array.from({ length: 40 }, (_, m) => ({
    service,
    region,
    window_start: options.t0 + m * 60_000,
    samples: 24,
    attempts: 24,
    successes: options.down.includes(m) ? options.downSuccesses : 24,
    planned_attempts: 0,
    planned_successes: 0,
    retro_attempts: 0,
    retro_successes: 0,
    version: 1,
    bus_epoch: 'test',
    source_partition: '0',
    last_offset: m,
  }));
}
