/**
 * CPU and wall clock of this process. `process.cpuUsage()` is getrusage(RUSAGE_SELF): it
 * counts every thread of the process (librdkafka's, chDB's, libuv's), so "events per
 * core-second" charges a component for all the work it causes in its own process. The
 * broker always runs in another process and is never charged.
 */

export interface Sample {
  wallMs: number;
  cpuMs: number;
}

export function sample(): Sample {
  const u = process.cpuUsage();
  return { wallMs: performance.now(), cpuMs: (u.user + u.system) / 1000 };
}

export interface Span {
  events: number;
  wallMs: number;
  cpuMs: number;
  /** Events per wall-clock second. */
  perSec: number;
  /** Events per CPU-second of the measured process: "events per second per core". */
  perCoreSec: number;
  /** Cores the process kept busy on average (cpu / wall). */
  cores: number;
}

export function span(events: number, from: Sample, to: Sample): Span {
  const wallMs = Math.max(1e-6, to.wallMs - from.wallMs);
  const cpuMs = Math.max(1e-6, to.cpuMs - from.cpuMs);
  return {
    events,
    wallMs,
    cpuMs,
    perSec: (events * 1000) / wallMs,
    perCoreSec: (events * 1000) / cpuMs,
    cores: cpuMs / wallMs,
  };
}
