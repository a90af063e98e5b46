import type { Logger } from '../shared/log.ts';
import { Periodic } from '../shared/periodic.ts';
import type { Store } from '../shared/store/store.ts';
import { rollUpDays } from '../shared/vitals/rollup.ts';

/**
 * Keeps the daily rollups (services/shared/vitals/rollup.ts) current: every `intervalMs`,
 * rolls up the days that ended at least `settleMs` ago and have no rollup yet or were
 * written since theirs (a late event, a correction, a back-dated maintenance window). A
 * day not rolled, or written since, is read from the one-minute rows meanwhile, so a late
 * or failed tick only makes reads slower, never wrong.
 */
export interface DailyRollupOptions {
  store: Store;
  log: Logger;
  intervalMs: number;
  settleMs: number;
  /** Days rolled per tick at most (a first start over a long history spreads over ticks). */
  maxDaysPerTick?: number;
  now?: () => number;
}

export class DailyRollupJob {
  private readonly periodic = new Periodic(
    () => this.tick(),
    (err) => this.o.log.error({ err }, 'daily rollup failed; the days stay read from the one-minute rows until the next tick'),
  );

  constructor(private readonly o: DailyRollupOptions) {}

  start(): void {
    if (this.o.intervalMs > 0) this.periodic.start(this.o.intervalMs, { immediately: true });
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  async tick(): Promise<void> {
    const started = Date.now();
    const rolled = await rollUpDays(this.o.store, {
      now: (this.o.now ?? Date.now)(),
      settleMs: this.o.settleMs,
      maxDays: this.o.maxDaysPerTick ?? 31,
      onProgress: (done, total) => {
        if (total > 7) this.o.log.info({ done, total }, 'rolling up days');
      },
    });
    if (rolled.kpi_1m + rolled.probe_kpi_1m > 0)
      this.o.log.info({ days: rolled, ms: Date.now() - started }, 'daily rollups written');
  }
}
