import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../services/shared/log.ts';
import { clusterStatements, SHARDING_KEYS } from '../../services/shared/store/cluster.ts';
import { loadMigrations, parseMigration } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';

/**
 * Cluster mode (CLICKHOUSE_CLUSTER) maps the real sql/ migrations statement by statement.
 * No ClickHouse cluster runs here, so the mapping is checked three ways: its exact
 * output for a table, its shape for every table of every file, and every statement
 * parsed by ClickHouse's own parser (chDB's formatQuery, the same SQL grammar a server has).
 */

const target = { cluster: 'cx', database: 'cxvitals' };

describe('cluster mode maps the sql/ migrations', () => {
  it('turns a CREATE TABLE into a replicated local table and a Distributed table of the same name', () => {
    const statements = clusterStatements(
      `CREATE TABLE IF NOT EXISTS cxvitals.csi_1m
(
    service String,
    region String,
    window_start DateTime64(3, 'UTC'),
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (service, region, window_start)`,
      target,
    );
    expect(statements).toEqual([
      `CREATE TABLE IF NOT EXISTS cxvitals.csi_1m_local ON CLUSTER 'cx'
(
    service String,
    region String,
    window_start DateTime64(3, 'UTC'),
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cxvitals/csi_1m_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (service, region, window_start)`,
      `CREATE TABLE IF NOT EXISTS cxvitals.csi_1m ON CLUSTER 'cx' AS cxvitals.csi_1m_local
ENGINE = Distributed('cx', 'cxvitals', 'csi_1m_local', cityHash64(service, region))`,
    ]);
  });

  it('maps every table of every file, with a sharding key drawn from its ORDER BY columns', async () => {
    const single = await loadMigrations('cxvitals');
    const cluster = await loadMigrations('cxvitals', undefined, 'cx');
    expect(cluster.map((m) => m.checksum)).toEqual(single.map((m) => m.checksum));
    for (const [i, m] of single.entries()) {
      const mapped = cluster[i]?.statements ?? [];
      const creates = m.statements.filter((s) => /^CREATE TABLE/i.test(s));
      // A CREATE becomes a local and a Distributed table; an ALTER that changes columns runs on both.
      const columnAlters = m.statements.filter(
        (s) => /^ALTER TABLE/i.test(s) && /\b(ADD|DROP|MODIFY|RENAME)\s+COLUMN\b/i.test(s),
      );
      expect(mapped).toHaveLength(m.statements.length + creates.length + columnAlters.length);
      for (const create of creates) {
        const table = /cxvitals\.(\w+)/.exec(create)?.[1] ?? '';
        const orderBy =
          /ORDER BY \(?([^)\n]+)\)?\s*$/
            .exec(create)?.[1]
            ?.split(',')
            .map((c) => c.trim()) ?? [];
        const keyColumns =
          /cityHash64\(([^)]*)\)/
            .exec(SHARDING_KEYS[table] ?? '')?.[1]
            ?.split(',')
            .map((c) => c.trim()) ?? [];
        expect(keyColumns.length, `sharding key of ${table}`).toBeGreaterThan(0);
        expect(
          keyColumns.every((c) => orderBy.includes(c)),
          `${table}: ${keyColumns} within ORDER BY ${orderBy}`,
        ).toBe(true);
        const local = mapped.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS cxvitals.${table}_local ON CLUSTER 'cx'`));
        expect(local).toMatch(
          new RegExp(
            `ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/cxvitals/${table}_local', '\\{replica\\}'`,
          ),
        );
        expect(mapped).toContain(
          `CREATE TABLE IF NOT EXISTS cxvitals.${table} ON CLUSTER 'cx' AS cxvitals.${table}_local\nENGINE = Distributed('cx', 'cxvitals', '${table}_local', ${SHARDING_KEYS[table]})`,
        );
      }
    }
  });

  it('leaves single-node statements exactly as written', async () => {
    for (const m of await loadMigrations('cxvitals'))
      for (const s of m.statements) expect(s).not.toMatch(/ON CLUSTER|Replicated|Distributed/);
  });

  it('puts ALTER on the local tables, and column changes on the Distributed table too', () => {
    expect(
      clusterStatements(
        "ALTER TABLE cxvitals.kpi_1m ADD COLUMN IF NOT EXISTS site String DEFAULT '', MODIFY TTL toDateTime(window_start) + INTERVAL 1 YEAR",
        target,
      ),
    ).toEqual([
      "ALTER TABLE cxvitals.kpi_1m_local ON CLUSTER 'cx' ADD COLUMN IF NOT EXISTS site String DEFAULT '', MODIFY TTL toDateTime(window_start) + INTERVAL 1 YEAR",
      "ALTER TABLE cxvitals.kpi_1m ON CLUSTER 'cx' ADD COLUMN IF NOT EXISTS site String DEFAULT ''",
    ]);
    expect(clusterStatements('DROP TABLE IF EXISTS cxvitals.kpi_1m', target)).toEqual([
      "DROP TABLE IF EXISTS cxvitals.kpi_1m ON CLUSTER 'cx' SYNC",
      "DROP TABLE IF EXISTS cxvitals.kpi_1m_local ON CLUSTER 'cx' SYNC",
    ]);
  });

  it('refuses what it cannot map, saying what to do', () => {
    expect(() =>
      parseMigration('0099_new.sql', 'CREATE TABLE {{db}}.new_table (a String) ENGINE = MergeTree ORDER BY a;', 'cxvitals', 'cx'),
    ).toThrow(/table new_table has no sharding key. Add one to SHARDING_KEYS in services\/shared\/store\/cluster.ts/);
    expect(() => clusterStatements('CREATE TABLE cxvitals.kpi_1m (a String) ENGINE = Memory', target)).toThrow(/ENGINE = Memory/);
    expect(() => clusterStatements('CREATE MATERIALIZED VIEW cxvitals.mv TO cxvitals.kpi_1m AS SELECT 1', target)).toThrow(
      /no cluster mapping/,
    );
  });

  describe('every cluster statement parses as ClickHouse SQL', () => {
    let store: Store;
    beforeAll(async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-cluster-sql-'));
      store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    });
    afterAll(async () => store?.close());

    it('is accepted by formatQuery', async () => {
      const statements = (await loadMigrations('cxvitals', undefined, 'cx')).flatMap((m) => m.statements);
      expect(statements.length).toBeGreaterThan(10);
      for (const statement of statements) {
        const [row] = await store.query<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: statement });
        expect(row?.f, statement).toMatch(/ON CLUSTER cx|ON CLUSTER 'cx'/);
      }
    });
  });
});
