import { describe, expect, it } from 'vitest';
import { type LandedRow, LandingWatcher } from '../../services/dashboard/landing-watcher.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import type { Store } from '../../services/shared/store/store.ts';

/**
 * The aggregator writes open windows too (checkpoints): a row written before its window
 * ended is that window's count so far — news for the page, but neither its landing (timed
 * in cxv_window_close_delay_seconds) nor freshness. The store double answers the
 * watcher's two queries with rows the test sets, as ClickHouse would aggregate them.
 */

const MIN = 60_000;
const T = Date.UTC(2026, 11, 6, 12, 0, 0);

function storeDouble(rows: () => LandedRow[]): Store {
  return {
    mode: 'embedded',
    database: 'double',
    location: 'nowhere',
    table: (name) => `double.${name}`,
    query: (async (sql: string) =>
      sql.includes('max(ws)') ? [{ newest: '0', written: '0', n: '0' }] : rows()) as Store['query'],
    command: () => Promise.reject(new Error('not used')),
    insert: () => Promise.reject(new Error('not used')),
    ping: async () => true,
    close: async () => {},
  };
}

describe('window landing with checkpoints', () => {
  it('times a window from its first row written after its end, not from a checkpoint before it', async () => {
    let rows: LandedRow[] = [];
    let now = T - 30_000;
    const metrics = createMetrics();
    const watcher = new LandingWatcher({
      store: storeDouble(() => rows),
      metrics,
      log: silentLogger,
      // Its own timer never polls during the test: the test's poll() calls are the only reads.
      pollMs: 3_600_000,
      now: () => now,
    });
    await watcher.start();
    const delays = async () =>
      (await metrics.windowCloseDelay.get()).values
        .filter(
          (v) => v.metricName === 'cxv_window_close_delay_seconds_sum' || v.metricName === 'cxv_window_close_delay_seconds_count',
        )
        .map((v) => [v.metricName, v.value]);

    // The window [T - 1 min, T) checkpointed 20 s before its end: news, no landing.
    now = T - 19_000;
    rows = [
      { family: 'availability', service: 'voice', k: 'north', ws: String(T - MIN), written: String(T - 20_000), landed: '0' },
    ];
    expect(await watcher.poll()).toEqual({
      rows: 1,
      newWindows: 0,
      services: ['voice'],
      newestWindowEnd: null,
      lastWrittenAt: T - 20_000,
    });
    expect(await delays()).toEqual([]);

    // Closed and written 2.5 s after its end; the poll still sees the checkpoint (overlap).
    now = T + 3_000;
    rows = [
      {
        family: 'availability',
        service: 'voice',
        k: 'north',
        ws: String(T - MIN),
        written: String(T + 2_500),
        landed: String(T + 2_500),
      },
    ];
    const landed = await watcher.poll();
    expect(landed?.newWindows).toBe(1);
    expect(landed?.newestWindowEnd).toBe(T);
    expect(await delays()).toEqual([
      ['cxv_window_close_delay_seconds_sum', 2.5],
      ['cxv_window_close_delay_seconds_count', 1],
    ]);
    await watcher.stop();
  });
});
