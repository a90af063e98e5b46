/**
 * The bound on events this process has handed to Kafka and not yet seen settle
 * (acknowledged or failed). Ingest never queues: a body that does not fit now is
 * refused at once (429 with Retry-After) and the sender keeps it, so a slow or dead
 * Kafka costs the process at most `maxInFlightEvents` events of memory.
 */

export class IngestCapacityError extends Error {
  constructor(
    readonly code: 'INGEST_OVERLOADED' | 'BATCH_TOO_LARGE' | 'BUS_BACKLOG',
    message: string,
    /** Seconds the sender should wait before resending (429 only). */
    readonly retryAfterSec: number,
  ) {
    super(message);
    this.name = 'IngestCapacityError';
  }
}

export const OVERLOADED_RETRY_AFTER_SEC = 1;

export class InFlightEvents {
  private current = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxInFlightEvents must be a whole number ≥ 1, got ${max}`);
  }

  get inFlight(): number {
    return this.current;
  }

  /** Throws unless `events` more would fit right now. Takes nothing. */
  check(events: number): void {
    if (events > this.max) {
      throw new IngestCapacityError(
        'BATCH_TOO_LARGE',
        `The body holds ${events} events; one request may carry at most ${this.max} (CXV_INGEST_MAX_IN_FLIGHT_EVENTS). Split it into smaller batches.`,
        0,
      );
    }
    if (this.current + events > this.max) {
      throw new IngestCapacityError(
        'INGEST_OVERLOADED',
        `Ingest is at its bound of ${this.max} events awaiting Kafka's acknowledgement (${this.current} now); nothing of this body was accepted. Resend it after Retry-After.`,
        OVERLOADED_RETRY_AFTER_SEC,
      );
    }
  }

  /** Takes `events` (checked first); the returned function gives them back, once. */
  acquire(events: number): () => void {
    this.check(events);
    this.current += events;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.current -= events;
    };
  }
}
