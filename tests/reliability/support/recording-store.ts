import type { QueryOptions, QueryParams } from '../../../services/shared/store/store.ts';
import { StoreWrapper } from '../../../services/shared/store/wrapper.ts';

/**
 * A Store that records every SQL text it is given (queries, commands, insert table
 * names) and every bound parameter value, then does what the real store does. The hostile
 * scenario reads it back: a hostile value may reach ClickHouse only as a bound parameter,
 * never inside SQL text.
 */
export class RecordingStore extends StoreWrapper {
  readonly statements: string[] = [];
  readonly boundValues: string[] = [];

  override table(name: string): string {
    const qualified = this.inner.table(name);
    this.statements.push(qualified);
    return qualified;
  }
  private note(sql: string, params?: QueryParams): void {
    this.statements.push(sql);
    for (const v of Object.values(params ?? {})) this.boundValues.push(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  }
  override query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]> {
    this.note(sql, params);
    return this.inner.query<T>(sql, params, options);
  }
  override command(sql: string, params?: QueryParams): Promise<void> {
    this.note(sql, params);
    return this.inner.command(sql, params);
  }
  override insert(table: string, rows: readonly object[]): Promise<void> {
    this.statements.push(`INSERT INTO ${table}`);
    for (const row of rows) this.boundValues.push(JSON.stringify(row));
    return this.inner.insert(table, rows);
  }
}
