import type { QueryParams, Store } from '../../../services/shared/store/store.ts';

/**
 * A Store that records every SQL text it is given (queries, commands, insert table
 * names) and every bound parameter value, then does what the real store does. The hostile
 * scenario reads it back: a hostile value may reach ClickHouse only as a bound parameter,
 * never inside SQL text.
 */
export class RecordingStore implements Store {
  readonly statements: string[] = [];
  readonly boundValues: string[] = [];

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
    const qualified = this.inner.table(name);
    this.statements.push(qualified);
    return qualified;
  }
  private note(sql: string, params?: QueryParams): void {
    this.statements.push(sql);
    for (const v of Object.values(params ?? {})) this.boundValues.push(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  }
  query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    this.note(sql, params);
    return this.inner.query<T>(sql, params);
  }
  command(sql: string, params?: QueryParams): Promise<void> {
    this.note(sql, params);
    return this.inner.command(sql, params);
  }
  insert(table: string, rows: readonly object[]): Promise<void> {
    this.statements.push(`INSERT INTO ${table}`);
    for (const row of rows) this.boundValues.push(JSON.stringify(row));
    return this.inner.insert(table, rows);
  }
  ping(): Promise<boolean> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
