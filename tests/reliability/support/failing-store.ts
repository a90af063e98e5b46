import { type QueryParams, type Store, StoreError } from '../../../services/shared/store/store.ts';

/**
 * A Store that fails every write while `failing` is set, as ClickHouse does when it is
 * down or refusing inserts; reads go through. Test-only fault injection: the aggregator
 * gets it in place of the real store and cannot tell the difference.
 */
export class FailingStore implements Store {
  failing = false;
  failedInserts = 0;

  constructor(private readonly inner: Store) {}

  get mode() {
    return this.inner.mode;
  }
  get database() {
    return this.inner.database;
  }
  get location() {
    return this.inner.location;
  }
  table(name: string): string {
    return this.inner.table(name);
  }
  query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.inner.query<T>(sql, params);
  }
  command(sql: string, params?: QueryParams): Promise<void> {
    return this.inner.command(sql, params);
  }
  async insert(table: string, rows: readonly object[]): Promise<void> {
    if (this.failing) {
      this.failedInserts += 1;
      throw new StoreError('STORE_INSERT_FAILED', `Insert into ${table} failed: injected fault (ClickHouse unavailable)`);
    }
    await this.inner.insert(table, rows);
  }
  ping(): Promise<boolean> {
    return this.failing ? Promise.resolve(false) : this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
