import type { QueryOptions, QueryParams, Store } from './store.ts';
import type { InsertRows } from './tsv.ts';

/**
 * A Store that passes everything to the one it wraps: the base for stores that watch or
 * alter one part of it (fault injection and statement recording in tests, timings in the
 * benchmark). Override what differs; the rest stays a faithful pass-through.
 */
export class StoreWrapper implements Store {
  constructor(protected readonly inner: Store) {}

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
  query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]> {
    return this.inner.query<T>(sql, params, options);
  }
  command(sql: string, params?: QueryParams): Promise<void> {
    return this.inner.command(sql, params);
  }
  insert(table: string, rows: InsertRows): Promise<void> {
    return this.inner.insert(table, rows);
  }
  ping(): Promise<boolean> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
