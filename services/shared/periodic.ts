/**
 * A background job's timer: `work` every `intervalMs`, one run at a time (a run that takes
 * longer than the interval delays the next instead of overlapping it), a failure reported
 * and retried on the next tick, and a stop that waits for the run in progress. The timer
 * does not keep the process alive.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts the timer; `immediately`: a first run now, not after one interval. */
  start(intervalMs: number, options: { immediately?: boolean } = {}): void {
    const run = () => {
      this.running = this.running
        .then(() => this.work())
        .then(
          () => undefined,
          (err: unknown) => this.onError(err),
        );
    };
    if (options.immediately) run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
