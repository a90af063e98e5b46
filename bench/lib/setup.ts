import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bindings } from '../../services/aggregator/families/index.ts';
import { sourceTopics } from '../../services/aggregator/topics.ts';
import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { type Config, loadConfig } from '../../services/shared/config/config.ts';
import { createLogger, type Logger } from '../../services/shared/log.ts';
import type { SourceName } from '../../services/shared/sources/registry.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';

/** What the workers share: a logger, a bus like the product's, a fresh migrated chDB. */

export const benchLog = (): Logger => createLogger(process.env.CXV_LOG_LEVEL ?? 'warn', 'bench');

/** The topics the aggregator reads (live and backfill of every source): raw consumers read the same set. */
export function aggregatorTopics(): string[] {
  const sources = new Set<SourceName>([...bindings().map((b) => b.source), 'maintenance']);
  return [...sourceTopics([...sources]).keys()];
}

export function benchBus(kind: KafkaClientKind, brokers: string, log: Logger) {
  // The same short group timings the embedded mode uses, so groups form in seconds.
  return createBus({ kind, brokers, clientId: `bench-${kind}`, log, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 });
}

export const uniqueGroup = (what: string) => `bench-${what}-${randomUUID().slice(0, 8)}`;

export async function freshDataDir(what: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `cxv-bench-${what}-`));
}

export async function freshStore(what: string, log: Logger): Promise<{ store: Store; dataDir: string }> {
  const dataDir = await freshDataDir(what);
  const store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log });
  await migrate(store, log);
  return { store, dataDir };
}

/** Settings a bench run may take from its own environment, to compare a change (checkpoints off: both 0). */
const PASSED_THROUGH = [
  'CXV_AGGREGATOR_CHECKPOINT_BYTES',
  'CXV_AGGREGATOR_CHECKPOINT_MS',
  'CXV_INGEST_VERSION_LOOKUP_MS',
] as const;

/** The product's configuration with its defaults, pointed at the bench broker and a fresh data folder. */
export function benchConfig(env: Record<string, string>): Config {
  const passed: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = process.env[name];
    if (value !== undefined) passed[name] = value;
  }
  return loadConfig({ CXV_PORT: '0', CXV_SIMULATE: '0', CXV_LOG_LEVEL: process.env.CXV_LOG_LEVEL ?? 'warn', ...passed, ...env });
}
