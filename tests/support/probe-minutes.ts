/** One probe_kpi_1m row written by hand: a minute's attempts and successes of one key (none planned or retroactive unless given). */
export function probeMinuteRow(o: {
  service: string;
  region: string;
  origin?: string;
  t: number;
  attempts: number;
  successes: number;
  /** [attempts, successes] during planned maintenance. */
  planned?: readonly [number, number];
  lastOffset?: number;
}): Record<string, unknown> {
  return {
    service: o.service,
    region: o.region,
    ...(o.origin === undefined ? {} : { origin: o.origin }),
    window_start: o.t,
    samples: o.attempts,
    attempts: o.attempts,
    successes: o.successes,
    planned_attempts: o.planned?.[0] ?? 0,
    planned_successes: o.planned?.[1] ?? 0,
    retro_attempts: 0,
    retro_successes: 0,
    version: 1,
    bus_epoch: 'test',
    source_partition: '0',
    last_offset: o.lastOffset ?? 0,
  };
}

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
  return Array.from({ length: 40 }, (_, m) =>
    probeMinuteRow({
      service,
      region,
      t: options.t0 + m * 60_000,
      attempts: 24,
      successes: options.down.includes(m) ? options.downSuccesses : 24,
      lastOffset: m,
    }),
  );
}
