import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/shared/log.ts';
import { openStore, StoreError } from '../../services/shared/store/store.ts';

/**
 * Closing the store while queries are still running (a process stopping while the API
 * or a background reader is mid-read): what already started ends with its result, what
 * comes after is refused with a clear error. chDB runs parameterised queries one after
 * another; one queued before close would otherwise run after it, on no connection.
 */
describe('store close', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets running queries finish, then refuses new ones with STORE_UNAVAILABLE', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-store-close-'));
    const store = await openStore({ mode: 'embedded', database: 'cxv_close', dataDir: dir, log: createLogger('warn') });
    const queries = [1, 2, 3, 4, 5, 6].map((n) =>
      store.query<{ n: string }>('SELECT toString(sum(number) + {n:UInt32}) AS n FROM numbers(2000000)', { n }),
    );
    const closed = store.close();
    const results = await Promise.allSettled(queries);
    await closed;
    // sum(0 .. 1,999,999) = 1,999,999,000,000; plus n.
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value[0]?.n : String(r.reason)))).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => String(1_999_999_000_000 + n)),
    );
    const after = await store.query('SELECT 1').catch((err: unknown) => err);
    expect(after).toBeInstanceOf(StoreError);
    expect(after).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('the store is closed') });
    await expect(store.insert('anything', [{ a: 1 }])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
