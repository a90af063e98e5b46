import type { Logger } from '../shared/log.ts';
import type { Store } from '../shared/store/store.ts';
import { readChangedSince } from './repository.ts';
import { incidentView } from './routes.ts';

/**
 * Tells the live stream (GET /api/v1/live, event `incident`) when an incident opens,
 * changes, resolves or is withdrawn. It polls the incidents table rather than listening to
 * the job, because the job runs with the aggregator and the stream with the API, which are
 * separate processes in production.
 */

export type IncidentEvent = ReturnType<typeof incidentView>;

export class IncidentWatcher {
  private readonly listeners = new Set<(e: IncidentEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private since: number;
  private polling: Promise<void> = Promise.resolve();

  constructor(private readonly o: { store: Store; log: Logger; pollMs?: number; now?: () => number }) {
    this.since = (o.now ?? Date.now)();
  }

  subscribe(listener: (e: IncidentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling
        .then(async () => {
          await this.poll();
        })
        .catch((err) => this.o.log.warn({ err }, 'incident watcher poll failed'));
    }, this.o.pollMs ?? 3000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
  }

  /** Sends every incident row written since the last poll; returns how many. */
  async poll(): Promise<number> {
    if (this.listeners.size === 0) {
      this.since = (this.o.now ?? Date.now)();
      return 0;
    }
    const changed = await readChangedSince(this.o.store, this.since);
    for (const c of changed) {
      this.since = Math.max(this.since, c.computedAt);
      const view = incidentView(c.incident);
      for (const l of this.listeners) l(view);
    }
    return changed.length;
  }
}
