import { StoreError } from '../../../services/shared/store/store.ts';
import { StoreWrapper } from '../../../services/shared/store/wrapper.ts';

/**
 * A Store that fails every write while `failing` is set, as ClickHouse does when it is
 * down or refusing inserts; reads go through. Test-only fault injection: the aggregator
 * gets it in place of the real store and cannot tell the difference.
 */
export class FailingStore extends StoreWrapper {
  failing = false;
  failedInserts = 0;

  override async insert(table: string, rows: readonly object[]): Promise<void> {
    if (this.failing) {
      this.failedInserts += 1;
      throw new StoreError('STORE_INSERT_FAILED', `Insert into ${table} failed: injected fault (ClickHouse unavailable)`);
    }
    await this.inner.insert(table, rows);
  }
  override ping(): Promise<boolean> {
    return this.failing ? Promise.resolve(false) : this.inner.ping();
  }
}
