import { type Role, startPipeline } from '../../services/app.ts';
import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import type { Channel } from '../lib/channel.ts';
import { sample } from '../lib/cpu.ts';
import { type ProfileSummary, startProfile } from '../lib/profile.ts';
import { benchConfig, benchLog, freshDataDir } from '../lib/setup.ts';

/**
 * The product as a process (`startPipeline`, the same assembly as `cxvitals start`) with
 * the roles asked for, against the bench broker, default settings otherwise. The parent
 * drives load over HTTP and asks this process for its CPU time (and, when asked, a CPU
 * profile of a span), so the load generator's own work is never counted.
 */

export interface ServerInfo {
  url: string;
  token: string;
  /** The process's demo read token: reads need one (docs/security.md). */
  readToken: string;
  pid: number;
}

export type ServerRequest =
  | { kind: 'cpu' }
  | { kind: 'profile-start' }
  | { kind: 'profile-stop' }
  | { kind: 'memory' }
  | { kind: 'window-writes'; services: string[]; from: number; to: number };

/** Per (service, region, minute) window, when its last row (of any family) was written: `written_at`, the store's wall clock. */
export interface WindowWrite {
  service: string;
  region: string;
  start: number;
  lastWrittenAt: number;
}

export async function run(
  p: { brokers: string; client: KafkaClientKind; roles: Role[]; env?: Record<string, string> },
  channel: Channel,
): Promise<{ stopped: true }> {
  const log = benchLog();
  const config = benchConfig({
    KAFKA_BROKERS: p.brokers,
    CXV_KAFKA_CLIENT: p.client,
    CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
    CXV_DATA_DIR: await freshDataDir('server'),
    ...p.env,
  });
  const pipeline = await startPipeline(config, log, { roles: p.roles });
  let profiling: { stop(): Promise<ProfileSummary> } | undefined;
  channel.serve(async (body) => {
    const request = body as ServerRequest;
    switch (request.kind) {
      case 'cpu':
        return sample();
      case 'memory':
        return process.memoryUsage();
      case 'profile-start':
        profiling = await startProfile();
        return null;
      case 'window-writes': {
        const t = (name: string) => pipeline.store.table(name);
        const where =
          'service IN {services:Array(String)} AND window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})';
        const rows = await pipeline.store.query<{ service: string; region: string; ws: string; last: string }>(
          `SELECT service, region, toString(toUnixTimestamp64Milli(window_start)) AS ws, toString(toUnixTimestamp64Milli(max(written_at))) AS last
           FROM (SELECT service, region, window_start, written_at FROM ${t('probe_kpi_1m')} WHERE ${where}
                 UNION ALL
                 SELECT service, region, window_start, written_at FROM ${t('kpi_1m')} WHERE ${where})
           GROUP BY service, region, window_start`,
          { services: request.services, from: request.from, to: request.to },
        );
        return rows.map(
          (r): WindowWrite => ({ service: r.service, region: r.region, start: Number(r.ws), lastWrittenAt: Number(r.last) }),
        );
      }
      case 'profile-stop': {
        const summary = await profiling?.stop();
        profiling = undefined;
        return summary ?? null;
      }
    }
  });
  channel.ready({
    url: pipeline.url.replace('localhost', '127.0.0.1'),
    token: pipeline.ingestDemoToken ?? '',
    readToken: pipeline.readDemoToken ?? '',
    pid: process.pid,
  } satisfies ServerInfo);
  await channel.stopped;
  await pipeline.stop();
  return { stopped: true };
}
