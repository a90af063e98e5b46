import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import type { Logger } from '../log.ts';
import { type InsertRows, TsvRows } from './tsv.ts';

/**
 * The analytical store port: ClickHouse through `@clickhouse/client`, either over
 * HTTP (a server or cluster) or in-process through chDB (embedded mode). Both are the
 * same client object with the same SQL; only the connection differs.
 *
 * Values are always bound as query parameters (`{name:Type}`), never concatenated.
 * Table names are qualified with the configured database (`store.table('x')`),
 * because chDB's connection ignores the client's `database` option; the database
 * name is a validated identifier from configuration, never user input.
 */

export interface StoreOptions {
  mode: 'embedded' | 'external';
  url?: string | undefined;
  user?: string;
  password?: string;
  database: string;
  dataDir?: string;
  /** Embedded: chDB connections for queries beside the one for inserts and commands (0 = queries share it). Default 2. */
  readConnections?: number;
  /** https to ClickHouse: the CA that signed its certificate, and a client certificate for mutual TLS (PEM files). */
  tls?: StoreTls | undefined;
  log: Logger;
}

export interface StoreTls {
  caFile: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** @clickhouse/client's `tls` option from PEM files (read once, at open). */
export function clickhouseTlsOptions(
  tls: StoreTls,
  read: (file: string) => Buffer = readFileSync,
): { ca_cert: Buffer } | { ca_cert: Buffer; cert: Buffer; key: Buffer } {
  const ca_cert = read(tls.caFile);
  return tls.certFile && tls.keyFile ? { ca_cert, cert: read(tls.certFile), key: read(tls.keyFile) } : { ca_cert };
}

export type QueryParams = Record<string, unknown>;

export interface QueryOptions {
  /** Gives the query up: a query still waiting for its turn (chDB runs bound queries one at a time) never runs. */
  signal?: AbortSignal;
}

export class StoreError extends Error {
  constructor(
    readonly code: 'STORE_UNAVAILABLE' | 'STORE_QUERY_FAILED' | 'STORE_INSERT_FAILED' | 'STORE_MIGRATION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface Store {
  readonly mode: 'embedded' | 'external';
  readonly database: string;
  /** Where the data lives: the chDB folder or the server URL (without credentials). */
  readonly location: string;
  /** `database.name`, for SQL text. */
  table(name: string): string;
  query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]>;
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Row objects go as JSONEachRow; `TsvRows` (lines encoded once, on the hot path) as they are. */
  insert(table: string, rows: InsertRows): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code ? `${err.message.split('\n')[0]} (ClickHouse code ${String(code)})` : (err.message.split('\n')[0] ?? '');
  }
  return String(err);
}

/** Embedded: the chDB connections that run queries, besides the one for inserts and commands (CXV_STORE_READ_CONNECTIONS). */
const READ_CONNECTIONS = 2;

/** How long close() waits for queries and inserts already running before it closes the connection anyway. */
const CLOSE_DRAIN_MS = 5_000;

class ClickHouseStore implements Store {
  private closed = false;
  /** Operations started and not finished: close() lets them end (chDB runs a query queued before close after it, on no connection). */
  private readonly running = new Set<Promise<unknown>>();
  /**
   * `readers` run the queries; `client` the inserts and commands. Over HTTP they are one
   * client (a server runs requests side by side). Embedded, each is a chDB connection of
   * its own on the same data folder: chDB runs one statement at a time per connection, so
   * with one connection a read waited behind every insert queued before it (a dashboard or
   * goal read behind the aggregator's flush, a CSI read behind a 16 s insert). A read
   * goes to the read connection with the fewest running, so it queues only behind reads.
   */
  private readonly readers: Array<{ client: ClickHouseClient; running: number }>;
  constructor(
    private readonly client: ClickHouseClient,
    readonly mode: 'embedded' | 'external',
    readonly database: string,
    readonly location: string,
    readers: readonly ClickHouseClient[] = [],
  ) {
    this.readers = (readers.length > 0 ? readers : [client]).map((c) => ({ client: c, running: 0 }));
  }

  table(name: string): string {
    return `${this.database}.${name}`;
  }

  /** Runs one operation unless the store is closed, and remembers it until it ends. */
  private run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new StoreError(
          'STORE_UNAVAILABLE',
          `${what} refused: the store is closed (this process is stopping); retry on a running one.`,
        ),
      );
    }
    const p = operation();
    this.running.add(p);
    const forget = () => this.running.delete(p);
    p.then(forget, forget);
    return p;
  }

  query<T>(sql: string, params: QueryParams = {}, options: QueryOptions = {}): Promise<T[]> {
    return this.run('ClickHouse query', async () => {
      const reader = this.readers.reduce((a, b) => (b.running < a.running ? b : a));
      reader.running += 1;
      try {
        const result = await reader.client.query({
          query: sql,
          query_params: params,
          format: 'JSONEachRow',
          ...(options.signal ? { abort_signal: options.signal } : {}),
        });
        return (await result.json()) as T[];
      } catch (err) {
        throw new StoreError('STORE_QUERY_FAILED', `ClickHouse query failed: ${describeError(err)}`, { cause: err });
      } finally {
        reader.running -= 1;
      }
    });
  }

  command(sql: string, params: QueryParams = {}): Promise<void> {
    return this.run('ClickHouse command', async () => {
      try {
        await this.client.command({ query: sql, query_params: params });
      } catch (err) {
        throw new StoreError('STORE_QUERY_FAILED', `ClickHouse command failed: ${describeError(err)}`, { cause: err });
      }
    });
  }

  insert(table: string, rows: InsertRows): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.run(`Insert into ${table}`, async () => {
      try {
        if (rows instanceof TsvRows) {
          await this.client.insert({
            table: this.table(table),
            columns: [...rows.columns] as [string, ...string[]],
            format: rows.format,
            // A string chunk: chDB's connection reads the body as a string, so no UTF-8 round trip through a Buffer.
            values: Readable.from([rows.body()], { objectMode: false, encoding: 'utf8' }),
          });
        } else {
          await this.client.insert({ table: this.table(table), values: rows as object[], format: 'JSONEachRow' });
        }
      } catch (err) {
        throw new StoreError('STORE_INSERT_FAILED', `Insert into ${table} failed: ${describeError(err)}`, { cause: err });
      }
    });
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const r = await this.client.ping();
      return r.success;
    } catch {
      return false;
    }
  }

  /** Refuses new work, lets what is running end (at most CLOSE_DRAIN_MS), then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_DRAIN_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.client.close();
    for (const reader of this.readers) if (reader.client !== this.client) await reader.client.close();
  }
}

/** Opens the store and makes sure the database exists. Migrations are separate (`migrate`). */
export async function openStore(options: StoreOptions): Promise<Store> {
  let client: ClickHouseClient;
  const readers: ClickHouseClient[] = [];
  let location: string;
  if (options.mode === 'embedded') {
    if (!options.dataDir) throw new StoreError('STORE_UNAVAILABLE', 'Embedded store needs a data directory (CXV_DATA_DIR).');
    // chDB is a ~540 MB native library: load it only when embedded mode asks for it.
    const { createChdbConnection } = await import('chdb/connection');
    const dataDir = options.dataDir;
    // Connections on one folder coexist (chDB): writes on one, reads on the others.
    const open = () =>
      createClient({ connection: createChdbConnection({ path: dataDir }) } as unknown as Parameters<typeof createClient>[0]);
    client = open();
    for (let i = 0; i < (options.readConnections ?? READ_CONNECTIONS); i += 1) readers.push(open());
    location = options.dataDir;
  } else {
    if (!options.url) throw new StoreError('STORE_UNAVAILABLE', 'External store needs CLICKHOUSE_URL.');
    let tls: ReturnType<typeof clickhouseTlsOptions> | undefined;
    try {
      tls = options.tls ? clickhouseTlsOptions(options.tls) : undefined;
    } catch (err) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `Cannot read the ClickHouse TLS files (CLICKHOUSE_CA_FILE / _CERT_FILE / _KEY_FILE): ${describeError(err)}.`,
        { cause: err },
      );
    }
    client = createClient({
      url: options.url,
      ...(tls ? { tls } : {}),
      username: options.user ?? 'default',
      password: options.password ?? '',
      database: 'default',
      request_timeout: 30_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    const u = new URL(options.url);
    u.username = '';
    u.password = '';
    location = u.toString();
  }
  const store = new ClickHouseStore(client, options.mode, options.database, location, readers);
  try {
    await store.command(`CREATE DATABASE IF NOT EXISTS ${options.database}`);
  } catch (err) {
    await store.close().catch(() => {});
    throw new StoreError(
      'STORE_UNAVAILABLE',
      options.mode === 'embedded'
        ? `Cannot open embedded ClickHouse (chDB) at ${location}: ${describeError(err)}. Is another cxvitals process using this CXV_DATA_DIR? chDB allows one data path per process.`
        : `Cannot reach ClickHouse at ${location}: ${describeError(err)}. Check CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD.`,
      { cause: err },
    );
  }
  options.log.info({ mode: options.mode, location, database: options.database }, 'store open');
  return store;
}
