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
    try {
      return await this.inner.query<T>(sql, params, options);
    } finally {
      this.queryMs += performance.now() - started;
    }
  }
  override async insert(table: string, rows: readonly object[]): Promise<void> {
    const started = performance.now();
    try {
      if (!this.drop.has(table)) await this.inner.insert(table, rows);
    } finally {
      this.insertMs.set(table, (this.insertMs.get(table) ?? 0) + performance.now() - started);
      this.insertRows.set(table, (this.insertRows.get(table) ?? 0) + rows.length);
    }
  }

  /** Insert wall time and rows per table, largest first. */
  inserts(): Array<{ table: string; ms: number; rows: number }> {
    return [...this.insertMs]
      .map(([table, ms]) => ({ table, ms, rows: this.insertRows.get(table) ?? 0 }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.insertMs.clear();
    this.insertRows.clear();
    this.queryMs = 0;
  }
}
