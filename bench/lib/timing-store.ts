import type { QueryOptions, QueryParams, Store } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';

/**
 * A Store that does exactly what the one it wraps does, and adds up the wall time of
 * inserts per table and of queries: where the aggregator's JavaScript thread waits on
 * ClickHouse (the CPU profile shows that wait as idle time).
 */
export class TimingStore extends StoreWrapper {
  readonly insertMs = new Map<string, number>();
  readonly insertRows = new Map<string, number>();
  readonly statements = new Map<string, number>();
  queryMs = 0;

  /** `drop`: tables whose inserts are skipped (an ablation: what the figure would be without that write). */
  constructor(
    inner: Store,
    private readonly drop: ReadonlySet<string> = new Set(),
  ) {
    super(inner);
  }

  override async query<T>(sql: string, params?: QueryParams, options?: QueryOptions): Promise<T[]> {
    const started = performance.now();
    let rows = 0;
    try {
      const result = await this.inner.query<T>(sql, params, options);
      rows = result.length;
      return result;
    } finally {
      const ms = performance.now() - started;
      this.queryMs += ms;
      // Reads are listed beside the inserts as "read <first table>", with the rows they returned.
      this.count(`read ${/\bFROM\s+(?:[\w`"]+\.)?`?"?(\w+)/i.exec(sql)?.[1] ?? '?'}`, ms, rows);
    }
  }
  override async insert(table: string, rows: readonly object[]): Promise<void> {
    const started = performance.now();
    try {
      if (!this.drop.has(table)) await this.inner.insert(table, rows);
    } finally {
      this.count(table, performance.now() - started, rows.length);
    }
  }

  private count(table: string, ms: number, rows: number): void {
    this.insertMs.set(table, (this.insertMs.get(table) ?? 0) + ms);
    this.insertRows.set(table, (this.insertRows.get(table) ?? 0) + rows);
    this.statements.set(table, (this.statements.get(table) ?? 0) + 1);
  }

  /** Insert wall time and rows per table, and read wall time and queries per first table read, largest first. */
  inserts(): Array<{ table: string; ms: number; rows: number; statements: number }> {
    return [...this.insertMs]
      .map(([table, ms]) => ({ table, ms, rows: this.insertRows.get(table) ?? 0, statements: this.statements.get(table) ?? 0 }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.insertMs.clear();
    this.insertRows.clear();
    this.statements.clear();
    this.queryMs = 0;
  }
}
