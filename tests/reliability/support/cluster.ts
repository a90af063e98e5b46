import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { type CliProcess, spawnCli } from '../../support/processes.ts';

/**
 * cxvitals as it runs in production: each role a process of its own (`cxvitals ingest`,
 * `cxvitals aggregator`), against a broker process, each with its own data folder. The
 * test process only drives load and injects faults, so a process that stalls cannot
 * stall the test's clock.
 */

export interface RoleProcess {
  process: CliProcess;
  url: string;
  stop(): Promise<number | null>;
}

export const INGEST_TOKEN = `cxv_${randomBytes(24).toString('base64url')}`;
const TOKEN_ENTRY = `*:${createHash('sha256').update(INGEST_TOKEN).digest('hex')}`;

export async function startRole(
  role: 'ingest' | 'aggregator' | 'all',
  dir: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<RoleProcess> {
  const p = spawnCli(
    [role],
    {
      CXV_PORT: '0',
      CXV_SIMULATE: '0',
      CXV_DATA_DIR: path.join(dir, `data-${role}`),
      CXV_INGEST_TOKENS: TOKEN_ENTRY,
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
      UV_THREADPOOL_SIZE: '16',
      ...env,
    },
    path.join(dir, `${role}.log`),
    nodeArgs,
  );
  const url = (await p.waitFor(/health\s+(http:\/\/\S+)\/healthz/, 90_000)).replace('localhost', '127.0.0.1');
  return {
    process: p,
    url,
    async stop() {
      if (p.child.exitCode !== null) return p.child.exitCode;
      p.child.kill('SIGCONT');
      p.child.kill('SIGTERM');
      const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
      if (code === 'timeout') {
        p.child.kill('SIGKILL');
        return null;
      }
      return code;
    },
  };
}
