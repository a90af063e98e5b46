import { StoreError } from './store.ts';

/**
 * ClickHouse cluster mode (`CLICKHOUSE_CLUSTER=name`) from the same `sql/` migrations.
 * The files stay written for one node; in cluster mode every statement is mapped at
 * parse time, by the rules below, so there is one schema and no second set of files
 * (and the checksums of applied files do not depend on the mode):
 *
 *   CREATE TABLE [IF NOT EXISTS] db.t (cols) ENGINE = XMergeTree(args) rest
 *     → CREATE TABLE … db.t_local ON CLUSTER 'c' (cols)
 *         ENGINE = ReplicatedXMergeTree('/clickhouse/tables/{shard}/db/t_local', '{replica}', args) rest
 *     → CREATE TABLE … db.t ON CLUSTER 'c' AS db.t_local
 *         ENGINE = Distributed('c', 'db', 't_local', <sharding key of t>)
 *   ALTER TABLE db.t cmds   → on db.t_local ON CLUSTER; column commands also on db.t
 *   DROP TABLE db.t         → both tables, ON CLUSTER, SYNC
 *   CREATE DATABASE / VIEW  → ON CLUSTER added
 *   INSERT, SELECT          → unchanged (they go through the Distributed table)
 *   anything else           → refused, with what to do
 *
 * The application keeps using the plain table names: they are the Distributed tables.
 * `{shard}` and `{replica}` are the server's macros (the Altinity operator sets them).
 *
 * Sharding keys: ReplacingMergeTree only merges versions of a row that sit on the same
 * shard, so every table's key must be a function of a prefix of its ORDER BY columns:
 * all versions of a row then land on one shard, and `FINAL` on the Distributed table
 * (applied per shard) stays exact.
 */

export const LOCAL_SUFFIX = '_local';

/** Per table: the Distributed sharding key (a function of its ORDER BY prefix; see above). */
export const SHARDING_KEYS: Readonly<Record<string, string>> = {
  probe_kpi_1m: 'cityHash64(service, region)',
  maintenance_windows: 'cityHash64(maintenance_id)',
  late_events: 'cityHash64(source, event_id)',
  event_versions: 'cityHash64(source, event_id)',
  raw_events: 'cityHash64(source, service, region)',
  kpi_1m: 'cityHash64(family, service, region)',
  kpi_1d: 'cityHash64(family, service, region)',
  probe_kpi_1d: 'cityHash64(service, region)',
  rollup_days: 'cityHash64(source_table, day)',
  csi_1m: 'cityHash64(service, region)',
  anomaly_1m: 'cityHash64(service, region)',
  incidents: 'cityHash64(id)',
  goals_changes: 'cityHash64(kind, id)',
  goals_evaluations: 'cityHash64(goal_id)',
};

export interface ClusterTarget {
  cluster: string;
  database: string;
  /** Defaults to SHARDING_KEYS; tests pass their own. */
  shardingKeys?: Readonly<Record<string, string>>;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const COLUMN_COMMAND = /^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i;

class ClusterModeError extends StoreError {
  constructor(message: string) {
    super('STORE_MIGRATION_FAILED', `Cluster mode (CLICKHOUSE_CLUSTER): ${message}`);
  }
}

/** The replication path of a local table: one ZooKeeper/Keeper node per shard and table. */
export const replicationPath = (database: string, table: string): string => `/clickhouse/tables/{shard}/${database}/${table}`;

/** Index of the `)` that closes the `(` at `open`, skipping quoted text. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth += 1;
    else if (c === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new ClusterModeError(`unbalanced parentheses in: ${text.slice(0, 120)}`);
}

/** Splits at commas that are not inside parentheses or quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

const quoted = (value: string): string => `'${value}'`;

function createTable(statement: string, t: Required<ClusterTarget>): string[] {
  const head = new RegExp(`^CREATE\\s+TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\.(${IDENT})\\s*\\(`, 'i').exec(statement);
  if (!head) throw new ClusterModeError(`expected CREATE TABLE db.name (columns) …, got: ${statement.slice(0, 120)}`);
  const ifNotExists = head[1] ? 'IF NOT EXISTS ' : '';
  const [database, table] = [head[2] ?? '', head[3] ?? ''];
  const columnsOpen = head[0].length - 1;
  const columnsClose = closingParen(statement, columnsOpen);
  const columns = statement.slice(columnsOpen, columnsClose + 1);
  const afterColumns = statement.slice(columnsClose + 1);
  const engine = new RegExp(`^\\s*ENGINE\\s*=\\s*(${IDENT})`, 'i').exec(afterColumns);
  if (!engine) throw new ClusterModeError(`CREATE TABLE ${database}.${table} has no ENGINE clause right after its columns`);
  const engineName = engine[1] ?? '';
  if (!/MergeTree$/.test(engineName) || engineName.startsWith('Replicated')) {
    throw new ClusterModeError(
      `table ${table} uses ENGINE = ${engineName}; only (non-replicated) *MergeTree engines have a replicated equivalent. Write the migration with a MergeTree-family engine, or extend services/shared/store/cluster.ts.`,
    );
  }
  let rest = afterColumns.slice(engine[0].length);
  let args = '';
  const argsOpen = rest.search(/\S/);
  if (argsOpen >= 0 && rest[argsOpen] === '(') {
    const argsClose = closingParen(rest, argsOpen);
    args = rest.slice(argsOpen + 1, argsClose).trim();
    rest = rest.slice(argsClose + 1);
  }
  const shardingKey = t.shardingKeys[table];
  if (!shardingKey) {
    throw new ClusterModeError(
      `table ${table} has no sharding key. Add one to SHARDING_KEYS in services/shared/store/cluster.ts: a function of a prefix of its ORDER BY columns (e.g. cityHash64(service, region)), so every version of a row lands on one shard.`,
    );
  }
  const local = `${table}${LOCAL_SUFFIX}`;
  const replicatedArgs = [quoted(replicationPath(database, local)), quoted('{replica}'), ...(args ? [args] : [])].join(', ');
  const onCluster = `ON CLUSTER ${quoted(t.cluster)}`;
  return [
    `CREATE TABLE ${ifNotExists}${database}.${local} ${onCluster}\n${columns}\nENGINE = Replicated${engineName}(${replicatedArgs})${rest}`,
    `CREATE TABLE ${ifNotExists}${database}.${table} ${onCluster} AS ${database}.${local}\nENGINE = Distributed(${[t.cluster, database, local].map(quoted).join(', ')}, ${shardingKey})`,
  ];
}

function alterTable(statement: string, t: Required<ClusterTarget>): string[] {
  const head = new RegExp(`^ALTER\\s+TABLE\\s+(${IDENT})\\.(${IDENT})\\s+`, 'i').exec(statement);
  if (!head) throw new ClusterModeError(`expected ALTER TABLE db.name …, got: ${statement.slice(0, 120)}`);
  const [database, table] = [head[1] ?? '', head[2] ?? ''];
  const commands = splitTopLevel(statement.slice(head[0].length));
  const onCluster = `ON CLUSTER ${quoted(t.cluster)}`;
  // The Distributed table mirrors the columns only; TTL, indexes and settings live on the local table.
  const columnCommands = commands.filter((c) => COLUMN_COMMAND.test(c));
  return [
    `ALTER TABLE ${database}.${table}${LOCAL_SUFFIX} ${onCluster} ${commands.join(', ')}`,
    ...(columnCommands.length > 0 ? [`ALTER TABLE ${database}.${table} ${onCluster} ${columnCommands.join(', ')}`] : []),
  ];
}

function dropTable(statement: string, t: Required<ClusterTarget>): string[] {
  const head = new RegExp(`^DROP\\s+TABLE\\s+(IF\\s+EXISTS\\s+)?(${IDENT})\\.(${IDENT})\\s*(SYNC)?$`, 'i').exec(statement);
  if (!head) throw new ClusterModeError(`expected DROP TABLE [IF EXISTS] db.name, got: ${statement.slice(0, 120)}`);
  const [database, table] = [head[2] ?? '', head[3] ?? ''];
  const drop = (name: string) => `DROP TABLE IF EXISTS ${database}.${name} ON CLUSTER ${quoted(t.cluster)} SYNC`;
  return [drop(table), drop(`${table}${LOCAL_SUFFIX}`)];
}

/** Inserts `ON CLUSTER 'c'` after the object name of a CREATE DATABASE / CREATE VIEW. */
function addOnCluster(statement: string, pattern: RegExp, t: Required<ClusterTarget>): string[] {
  const head = pattern.exec(statement);
  if (!head) throw new ClusterModeError(`cannot place ON CLUSTER in: ${statement.slice(0, 120)}`);
  return [`${head[0]} ON CLUSTER ${quoted(t.cluster)}${statement.slice(head[0].length)}`];
}

/** The statements to run in cluster mode for one statement of a migration file (see the rules at the top). */
export function clusterStatements(statement: string, target: ClusterTarget): string[] {
  const t: Required<ClusterTarget> = { shardingKeys: SHARDING_KEYS, ...target };
  const s = statement.trim();
  if (/\bON\s+CLUSTER\b/i.test(s))
    throw new ClusterModeError(`write migrations for one node; ON CLUSTER is added in cluster mode: ${s.slice(0, 120)}`);
  if (/^CREATE\s+TABLE\b/i.test(s)) return createTable(s, t);
  if (/^ALTER\s+TABLE\b/i.test(s)) return alterTable(s, t);
  if (/^DROP\s+TABLE\b/i.test(s)) return dropTable(s, t);
  if (/^CREATE\s+DATABASE\b/i.test(s))
    return addOnCluster(s, new RegExp(`^CREATE\\s+DATABASE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}`, 'i'), t);
  if (/^CREATE\s+(OR\s+REPLACE\s+)?VIEW\b/i.test(s))
    return addOnCluster(
      s,
      new RegExp(`^CREATE\\s+(OR\\s+REPLACE\\s+)?VIEW\\s+(IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}\\.${IDENT}`, 'i'),
      t,
    );
  if (/^(INSERT|SELECT|WITH)\b/i.test(s)) return [s];
  throw new ClusterModeError(
    `no cluster mapping for: ${s.slice(0, 120)}. Supported: CREATE TABLE (MergeTree family), ALTER TABLE, DROP TABLE, CREATE DATABASE, CREATE VIEW, INSERT, SELECT; extend services/shared/store/cluster.ts for more.`,
  );
}

/**
 * `schema_migrations` in cluster mode: one replicated table on every node of every shard
 * (a single replication path, replica named `{shard}-{replica}` so it is unique even where
 * replica macros repeat across shards), so any node the application reaches knows what
 * was applied. Not distributed: it is tiny and read with FINAL.
 */
export function clusterMigrationsTableSql(database: string, cluster: string): string {
  return `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations ON CLUSTER ${quoted(cluster)} (
       version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
     ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/${database}/schema_migrations', '{shard}-{replica}') ORDER BY version`;
}

export const createDatabaseOnClusterSql = (database: string, cluster: string): string =>
  `CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${quoted(cluster)}`;
