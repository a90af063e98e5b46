// Generated from schemas/avro/probe.v1.avsc by `npm run generate:records`: do not edit by hand.

/** One active/passive/agent probe test result or counter sample, normalised at ingest: a single test becomes attempts=1, successes=0|1. */
export interface ProbeRecord {
  eventId: string;
  /** event time, epoch milliseconds UTC */
  ts: number;
  /** ingest time, epoch milliseconds UTC */
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  probeId: string;
  probeType: 'active' | 'passive' | 'agent';
  attempts: number;
  successes: number;
  latencyMs: number | null;
  jitterMs: number | null;
  packetLossPct: number | null;
  packetsSent: number | null;
  throughputKbps: number | null;
  mos: number | null;
}
