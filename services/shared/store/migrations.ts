import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { clusterMigrationsTableSql, clusterStatements, createDatabaseOnClusterSql, LOCAL_SUFFIX } from './cluster.ts';
import { type Store, StoreError } from './store.ts';

/**
 * Ordered, idempotent migrations from `sql/NNNN_name.sql`. The `sql/` folder is the one
 * place that owns the schema. Each file is applied once and recorded in
 * `schema_migrations` with its checksum; every statement is written to be safe to run
 * again (`IF NOT EXISTS`), so a crash half-way through a file re-runs cleanly.
 * A file whose text changed after it was applied is refused: add a new file instead.
 *
 * Statements are separated by a line that ends with `;`. `{{db}}` stands for the
 * configured database.
 *
 * Cluster mode (`cluster` set, from CLICKHOUSE_CLUSTER): the files are unchanged and each
 * statement is mapped by `clusterStatements` (cluster.ts: replicated local tables ON
 * CLUSTER plus a Distributed table under the original name). The checksum is always
 * over the file text, so a file is the same migration in both modes.
 */

export const SQL_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

export interface MigrateOptions {
  /** Folder of the NNNN_name.sql files (default: sql/). */
  dir?: string;
  /** ClickHouse cluster name (CLICKHOUSE_CLUSTER): replicated + distributed tables. */
  cluster?: string | undefined;
}

export function parseMigration(fileName: string, text: string, database: string, cluster?: string): Migration {
  const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(fileName);
  if (!match) {
    throw new StoreError('STORE_MIGRATION_FAILED', `Migration file ${fileName} must be named NNNN_lower_snake.sql`);
  }
  const statements = text
    .replace(/^\s*--.*$/gm, '')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => s.replaceAll('{{db}}', database))
    .flatMap((s) => (cluster ? clusterStatements(s, { cluster, database }) : [s]));
  return {
    version: Number(match[1]),
    name: match[2] ?? fileName,
    checksum: createHash('sha256').update(text).digest('hex'),
    statements,
  };
}

export async function loadMigrations(database: string, dir = SQL_DIR, cluster?: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations = await Promise.all(
    files.map(async (f) => parseMigration(f, await readFile(path.join(dir, f), 'utf8'), database, cluster)),
  );
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new StoreError('STORE_MIGRATION_FAILED', `Two migrations share version ${m.version}`);
    seen.add(m.version);
  }
  return migrations;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

/** `dirOrOptions`: the sql/ folder (as before), or options with the folder and the cluster. */
export async function migrate(
  store: Store,
  log: Logger,
  dirOrOptions: string | MigrateOptions = SQL_DIR,
): Promise<MigrationReport> {
  const { dir = SQL_DIR, cluster } = typeof dirOrOptions === 'string' ? { dir: dirOrOptions } : dirOrOptions;
  const migrations = await loadMigrations(store.database, dir, cluster);
  if (cluster) {
    // openStore created the database on the node it reached only.
    await store.command(createDatabaseOnClusterSql(store.database, cluster));
    await store.command(clusterMigrationsTableSql(store.database, cluster));
  } else {
    await store.command(
      `CREATE TABLE IF NOT EXISTS ${store.table('schema_migrations')} (
       version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
     ) ENGINE = ReplacingMergeTree ORDER BY version`,
    );
  }
  const done = await store.query<{ version: number; name: string; checksum: string }>(
    `SELECT version, name, checksum FROM ${store.table('schema_migrations')} FINAL`,
  );
  const doneByVersion = new Map(done.map((d) => [Number(d.version), d]));
  const report: MigrationReport = { applied: [], alreadyApplied: 0 };
  for (const m of migrations) {
    const previous = doneByVersion.get(m.version);
    if (previous) {
      if (previous.checksum !== m.checksum) {
        throw new StoreError(
          'STORE_MIGRATION_FAILED',
          `Migration ${m.version}_${m.name} changed after it was applied (checksum differs). Restore the file and add a new migration for the change.`,
        );
      }
      report.alreadyApplied += 1;
      continue;
    }
    for (const statement of m.statements) {
      try {
        await store.command(statement);
      } catch (err) {
        throw new StoreError('STORE_MIGRATION_FAILED', `Migration ${m.version}_${m.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    await store.insert('schema_migrations', [{ version: m.version, name: m.name, checksum: m.checksum }]);
    report.applied.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
    log.info({ version: m.version, name: m.name }, 'migration applied');
  }
  return report;
}

/**
 * Sets the raw_events TTL from configuration. Only when it changed: every MODIFY TTL
 * re-evaluates the TTL over the whole table. In cluster mode the TTL belongs to the
 * replicated local table, on every node.
 */
export async function applyRawRetention(
  store: Store,
  days: number,
  log: Logger,
  options: { cluster?: string | undefined } = {},
): Promise<void> {
  if (!Number.isInteger(days) || days < 1) throw new StoreError('STORE_MIGRATION_FAILED', `Invalid raw retention: ${days} days`);
  const name = options.cluster ? `raw_events${LOCAL_SUFFIX}` : 'raw_events';
  const [table] = await store.query<{ engine_full: string }>(
    'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}',
    { db: store.database, name },
  );
  // Retention counts from when an event was stored, not from its event time: a replayed
  // file of 1999 must stay (for drill-down and for the dedupe of a second replay).
  if (table?.engine_full.includes(`toDateTime(stored_at) + toIntervalDay(${days})`)) return;
  const onCluster = options.cluster ? ` ON CLUSTER '${options.cluster}'` : '';
  await store.command(`ALTER TABLE ${store.table(name)}${onCluster} MODIFY TTL toDateTime(stored_at) + toIntervalDay(${days})`);
  log.info({ days }, 'raw_events retention set');
}
