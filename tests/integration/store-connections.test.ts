import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/shared/log.ts';
import { openStore } from '../../services/shared/store/store.ts';

/**
 * The embedded store reads on a chDB connection of its own: chDB runs one statement at a
 * time per connection, and with one connection a dashboard read waited behind every
 * insert queued before it. The order of completion is what is checked, not a duration.
 */
describe('embedded store connections', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers a read while a long write runs, and the read after the write sees it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-store-conn-'));
    const store = await openStore({ mode: 'embedded', database: 'cxv_conn', dataDir: dir, log: createLogger('warn') });
    try {
      await store.command(`CREATE TABLE ${store.table('t')} (x UInt64) ENGINE = MergeTree ORDER BY x`);
      await store.insert('t', [{ x: 1 }, { x: 2 }]);
      // A write that takes seconds (hashing 200 million numbers), then a read issued after it.
      const order: string[] = [];
      const write = store
        .command(`INSERT INTO ${store.table('t')} SELECT sipHash64(number) FROM numbers(200000000) WHERE number % 1000 = 7`)
        .then(() => order.push('write'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const read = store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table('t')} WHERE x <= 2`).then((rows) => {
        order.push('read');
        return rows;
      });
      const [rows] = await Promise.all([read, write]);
      expect(order).toEqual(['read', 'write']);
      expect(Number(rows[0]?.n)).toBe(2);
      const [after] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table('t')}`);
      expect(Number(after?.n)).toBe(2 + 200_000);
    } finally {
      await store.close();
    }
  });
});
