import { classifyVersions, fingerprintOf, type StoredVersions, versionPayload } from '../aggregator/ledger.ts';
import { retractionMessage } from '../aggregator/retraction.ts';
import { type Bus, BusError, backfillTopicForSource, type OutgoingMessage, topicForSource } from '../shared/bus/bus.ts';
import type { Metrics } from '../shared/metrics.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../shared/sources/avro.ts';
import { type FieldError, fieldErrors, requiredMessage } from '../shared/sources/common.ts';
import { SOURCES, type SourceName, sourceNames } from '../shared/sources/registry.ts';
import type { RecordContext, SourceDefinition } from '../shared/sources/source.ts';
import type { BusBacklogGuard } from './backlog.ts';
import type { ParsedBody } from './body.ts';
import { InFlightEvents } from './capacity.ts';
import { type IngestStats, readIngestStats } from './stats.ts';

/**
 * The ingest path, without HTTP: validate each event (zod, field-level errors),
 * normalise it into its bus record, Avro-encode it and produce it keyed by
 * `service|region`. An event counts as accepted only once Kafka acknowledged it.
 *
 * Counting (per source, `received = accepted + rejected`): the events of a body are
 * counted once they have been looked at — accepted, or rejected with a reason:
 * `invalid` (validation), `bus_unavailable` / `bus_timeout` (Kafka did not
 * acknowledge). A body refused as a whole before that (over capacity, too many
 * events; and at the HTTP edge: auth, unknown source, size, content type) counts
 * nothing: nothing of it was read, and the sender still holds it.
 */

export type RejectReason = 'invalid' | 'bus_unavailable' | 'bus_timeout';

/** At most this many field errors are listed per body; the rest are counted in `errorsOmitted`. */
export const MAX_LISTED_ERRORS = 1000;

export interface IngestResult {
  source: SourceName;
  received: number;
  accepted: number;
  rejected: number;
  errors: FieldError[];
  errorsOmitted: number;
  /** The topic the accepted events went to (`cx.<source>.v1`, or the backfill topic). */
  topic: string;
  /**
   * Of `accepted`, as known when they arrived (`classify`): events whose eventId was seen
   * before with other content (corrections) and with the same content (duplicates). The
   * aggregator decides for good (GET /api/v1/ingest/stats `aggregated`). Absent when not
   * asked for, or when the store could not tell in time (`classified: false`).
   */
  corrected?: number;
  duplicate?: number;
  /** Asked for: whether `corrected`/`duplicate` are there (false: the store did not answer within `versionLookupMs`, or failed). */
  classified?: boolean;
}

export interface IngestOptions {
  maxFutureMs: number;
  now?: () => number;
  /** Events handed to Kafka and not yet settled, per process (CXV_INGEST_MAX_IN_FLIGHT_EVENTS). Default 50 000. */
  maxInFlightEvents?: number;
  /** How long `ingest` waits for Kafka's acknowledgement (CXV_INGEST_PRODUCE_TIMEOUT_MS). Default 10 000. */
  produceTimeoutMs?: number;
  /** Refuses a topic while the aggregator's uncommitted backlog on it is too large (CXV_INGEST_MAX_BUS_BACKLOG_BYTES). */
  backlog?: BusBacklogGuard;
  /** Where the versions of events are kept, to tell a sender which accepted events were corrections (docs/corrections.md). */
  versions?: StoredVersions;
  /**
   * How long an answer may wait for that lookup, counted from the call (CXV_INGEST_VERSION_LOOKUP_MS,
   * default 30): once Kafka has acknowledged and this has passed, the answer goes without the
   * counts and a lookup still queued is given up. The lookup shares the store with the
   * aggregator and the reads (embedded, chDB runs bound queries one at a time), so a sender's
   * answer would otherwise wait for the heaviest read in progress.
   */
  versionLookupMs?: number;
}

export interface IngestCall {
  /** History replay: produce to `cx.<source>.backfill.v1`, whose event-time clock follows the data. */
  backfill?: boolean;
  /** Count corrections and duplicates among the accepted events (one store query; the HTTP edge asks, the simulator does not). */
  classify?: boolean;
  /** The sender's token may back-date maintenance (ingest/auth.ts `mayBackdate`). Default: no. */
  mayBackdate?: boolean;
}

export class IngestService {
  private readonly now: () => number;
  private readonly produceTimeoutMs: number;
  readonly capacity: InFlightEvents;

  constructor(
    private readonly bus: Bus,
    private readonly metrics: Metrics,
    private readonly options: IngestOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.produceTimeoutMs = options.produceTimeoutMs ?? 10_000;
    this.capacity = new InFlightEvents(options.maxInFlightEvents ?? 50_000);
  }

  /**
   * Validates and produces. Throws IngestCapacityError (nothing read, nothing counted)
   * when the body does not fit the in-flight bound, and BusError (nothing accepted)
   * when Kafka did not acknowledge in time.
   */
  async ingest(source: SourceName, body: ParsedBody, call: IngestCall = {}): Promise<IngestResult> {
    const arrived = performance.now();
    const topic = call.backfill ? backfillTopicForSource(source) : topicForSource(source);
    this.capacity.check(body.count);
    this.options.backlog?.check(topic);
    const { messages, errors } = this.validate(source, body, { mayBackdate: call.mayBackdate ?? false });
    const invalid = body.count - messages.length;
    this.metrics.ingestReceived.inc({ source }, body.count);
    if (invalid > 0) this.reject(source, 'invalid', invalid);
    let classification: Promise<Classified | undefined> | undefined;
    const lookup = new AbortController();
    if (messages.length > 0) {
      // Cannot fail: checked above for at least as many events, with no await in between.
      const release = this.capacity.acquire(messages.length);
      // Looked up beside the produce, against what was known before this body.
      if (call.classify && this.options.versions)
        classification = this.classify(source, messages, this.options.versions, lookup.signal);
      try {
        await this.produce(topic, messages, release);
      } catch (err) {
        lookup.abort();
        const busError =
          err instanceof BusError
            ? err
            : new BusError('BUS_PRODUCE_FAILED', `Kafka did not acknowledge: ${(err as Error).message}`, { cause: err });
        this.reject(source, busError.code === 'BUS_TIMEOUT' ? 'bus_timeout' : 'bus_unavailable', messages.length);
        throw busError;
      }
      this.options.backlog?.observe(topic, messages);
      this.metrics.ingestAccepted.inc({ source }, messages.length);
    }
    errors.sort((a, b) => a.index - b.index);
    const classified = classification
      ? await settledWithin(classification, arrived + (this.options.versionLookupMs ?? 30) - performance.now())
      : undefined;
    if (classification && classified === undefined) lookup.abort();
    return {
      source,
      received: body.count,
      accepted: messages.length,
      rejected: invalid,
      errors: errors.slice(0, MAX_LISTED_ERRORS),
      errorsOmitted: Math.max(0, errors.length - MAX_LISTED_ERRORS),
      topic,
      ...(classified ? { corrected: classified.corrected, duplicate: classified.duplicate } : {}),
      ...(call.classify && this.options.versions && messages.length > 0 ? { classified: classified !== undefined } : {}),
    };
  }

  /** Which accepted events were corrections or duplicates; undefined when the store cannot tell (ingest does not fail for it). */
  private async classify(
    source: SourceName,
    messages: OutgoingMessage[],
    versions: StoredVersions,
    signal: AbortSignal,
  ): Promise<Classified | undefined> {
    try {
      const codec = codecFor(source);
      const events = messages.map((m) => {
        const record = codec.decode(m.value);
        return { eventId: String(record.eventId), fingerprint: fingerprintOf(versionPayload(record)) };
      });
      return classifyVersions(
        events,
        await versions.known(
          source,
          events.map((e) => e.eventId),
          signal,
        ),
      );
    } catch {
      return undefined;
    }
  }

  /**
   * A retraction of one event (`DELETE /api/v1/events/{source}/{eventId}`): produced to the
   * source's topic like an event, so the aggregator applies it exactly once, in order with
   * what it already consumed (retraction.ts). Counted as received and accepted (an event
   * of the source that Kafka acknowledged); the aggregator counts `retracted` (or
   * `not_found`, `correction_past_horizon`) when it applies it. Throws BusError like `ingest`.
   */
  async retract(source: SourceName, eventId: string): Promise<{ topic: string; receivedAt: number }> {
    const topic = topicForSource(source);
    this.capacity.check(1);
    this.options.backlog?.check(topic);
    const receivedAt = this.now();
    const message = retractionMessage(eventId, receivedAt);
    this.metrics.ingestReceived.inc({ source }, 1);
    const release = this.capacity.acquire(1);
    try {
      await this.produce(topic, [message], release);
    } catch (err) {
      const busError =
        err instanceof BusError
          ? err
          : new BusError('BUS_PRODUCE_FAILED', `Kafka did not acknowledge: ${(err as Error).message}`, { cause: err });
      this.reject(source, busError.code === 'BUS_TIMEOUT' ? 'bus_timeout' : 'bus_unavailable', 1);
      throw busError;
    }
    this.options.backlog?.observe(topic, [message]);
    this.metrics.ingestAccepted.inc({ source }, 1);
    return { topic, receivedAt };
  }

  /** Counters per source since this process started (`GET /api/v1/ingest/stats`). */
  stats(): Promise<IngestStats> {
    return readIngestStats(this.metrics, sourceNames, { inFlight: this.capacity.inFlight, max: this.capacity.max });
  }

  /** Synchronous on purpose: nothing else can take capacity between `check` and `acquire`. */
  private validate(
    source: SourceName,
    body: ParsedBody,
    context: RecordContext,
  ): { messages: OutgoingMessage[]; errors: FieldError[] } {
    const definition = SOURCES[source] as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor(source);
    const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
    const receivedAt = this.now();
    const errors: FieldError[] = [...body.errors];
    const messages: OutgoingMessage[] = [];
    for (const { index, value } of body.items) {
      const parsed = definition.input.safeParse(value, { error: requiredMessage });
      if (!parsed.success) {
        errors.push(...fieldErrors(index, parsed.error));
        continue;
      }
      const record = definition.toRecord(parsed.data, receivedAt, context);
      const eventTime = definition.eventTime(record);
      if (eventTime > receivedAt + this.options.maxFutureMs) {
        errors.push({
          index,
          field: 'ts',
          code: 'too_far_in_future',
          message: `event time ${new Date(eventTime).toISOString()} is more than ${this.options.maxFutureMs} ms ahead of the server clock`,
        });
        continue;
      }
      let encoded: Buffer;
      try {
        encoded = codec.encode(record);
      } catch (err) {
        // The zod schema should make this impossible; if it ever happens the event is
        // refused with the reason instead of failing the whole body.
        errors.push({
          index,
          field: '(event)',
          code: 'not_encodable',
          message: `valid, but does not fit Avro schema ${codec.schemaName}: ${(err as Error).message.slice(0, 200)}`,
        });
        continue;
      }
      messages.push({ key: definition.partitionKey(record), value: encoded, headers });
    }
    return { messages, errors };
  }

  /**
   * Produces under the in-flight bound and the edge's deadline. Capacity is given back
   * when Kafka settles, not at the deadline: until then the messages still sit in the
   * producer's memory. A delivery that lands after the deadline (the sender was told
   * 503 and will resend; the eventId dedupes) is still counted on its topic.
   */
  private async produce(topic: string, messages: OutgoingMessage[], release: () => void): Promise<void> {
    let late = false;
    const delivery = (async () => this.bus.produce(topic, messages))().finally(release);
    delivery.then(
      () => {
        if (late) this.metrics.busProduced.inc({ topic }, messages.length);
      },
      () => {},
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        reject(
          new BusError(
            'BUS_TIMEOUT',
            `Kafka did not acknowledge ${messages.length} event(s) on ${topic} within ${this.produceTimeoutMs} ms`,
          ),
        );
      }, this.produceTimeoutMs);
    });
    try {
      await Promise.race([delivery, deadline]);
    } finally {
      clearTimeout(timer);
    }
    this.metrics.busProduced.inc({ topic }, messages.length);
  }

  private reject(source: SourceName, reason: RejectReason, count: number): void {
    this.metrics.ingestRejected.inc({ source, reason }, count);
  }
}

type Classified = { corrected: number; duplicate: number };

/** The promise's value if it settles within `ms` (at once if it already has), else undefined. */
async function settledWithin<T>(promise: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
