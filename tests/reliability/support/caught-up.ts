import { setTimeout as sleep } from 'node:timers/promises';
import { readHeaders } from '../../support/auth.ts';

/**
 * Waits until an aggregator process has consumed everything on its partitions: its
 * /metrics report partitions assigned and no lag, three samples in a row. Returns
 * whether it got there before the deadline (a scenario reports, then asserts).
 */
export async function aggregatorCaughtUp(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let inARow = 0;
  while (Date.now() < deadline && inARow < 3) {
    await sleep(1000);
    const text = await fetch(`${url}/metrics`, { headers: readHeaders() })
      .then((r) => r.text())
      .catch(() => '');
    const lag = Number(/^cxv_aggregator_consumer_lag_messages (\S+)/m.exec(text)?.[1] ?? Number.NaN);
    const assigned = Number(/^cxv_aggregator_assigned_partitions (\S+)/m.exec(text)?.[1] ?? 0);
    inARow = lag === 0 && assigned > 0 ? inARow + 1 : 0;
  }
  return inARow >= 3;
}
