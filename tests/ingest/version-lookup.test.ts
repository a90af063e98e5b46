import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, StoredVersions, versionPayload } from '../../services/aggregator/ledger.ts';
import { parseEventsBody } from '../../services/ingest/body.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { codecFor } from '../../services/shared/sources/avro.ts';
import type { QueryOptions, QueryParams, Store } from '../../services/shared/store/store.ts';
import { storeDouble } from '../support/store-double.ts';
import { EXAMPLES } from './examples.ts';
import { busDouble, NOW } from './harness.ts';

/**
 * An ingest answer says which accepted events were corrections or duplicates
 * (`corrected`/`duplicate`) when the store tells in time: it waits for that lookup at most
 * CXV_INGEST_VERSION_LOOKUP_MS from the request's arrival, and never past Kafka's
 * acknowledgement once that time is over. A lookup it stopped waiting for is given up
 * (its query's signal aborts: chDB then never runs a query still queued).
 */

/** event_versions as the lookup reads it: eventId → fingerprints; queries answered now, or held until `release`. */
class VersionsStore {
  readonly fingerprints = new Map<string, number[]>();
  readonly signals: Array<AbortSignal | undefined> = [];
  hold = false;
  private readonly held: Array<() => void> = [];

  asStore(): Store {
    return storeDouble({
      query: <T>(_sql: string, params?: QueryParams, options?: QueryOptions) => this.query(params, options) as Promise<T[]>,
    });
  }

  /** Answers what is held, and every query from now on at once. */
  release(): void {
    this.hold = false;
    for (const answer of this.held.splice(0)) answer();
  }

  private query(params: QueryParams = {}, options: QueryOptions = {}): Promise<unknown[]> {
    this.signals.push(options.signal);
    const answer = () =>
      (params.ids as string[])
        .filter((id) => this.fingerprints.has(id))
        .map((id) => ({
          // Which ids are stored (by source) and their fingerprints: both queries' rows.
          source: params.source ?? (params.sources as string[] | undefined)?.[0],
          event_id: id,
          fingerprints: this.fingerprints.get(id),
        }));
    if (!this.hold) return Promise.resolve(answer());
    return new Promise((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(new Error('aborted before it ran')));
      this.held.push(() => resolve(answer()));
    });
  }
}

const probe = (eventId: string, latencyMs: number) => ({ ...EXAMPLES.probe, eventId, latencyMs });
const body = (...events: object[]) => parseEventsBody(JSON.stringify(events), 'json');

function setUp(versionLookupMs: number, busMode: 'record' | 'hold' = 'record') {
  const store = new VersionsStore();
  const double = busDouble(busMode);
  const ingest = new IngestService(double.bus, createMetrics(), {
    maxFutureMs: 300_000,
    now: () => NOW,
    versions: new StoredVersions(store.asStore()),
    versionLookupMs,
  });
  /** What the aggregator would have stored: every produced version's fingerprint, by eventId. */
  const storeProduced = () => {
    for (const { messages } of double.produced.splice(0)) {
      for (const m of messages) {
        const record = codecFor('probe').decode(m.value) as Record<string, unknown>;
        const id = String(record.eventId);
        store.fingerprints.set(id, [...(store.fingerprints.get(id) ?? []), fingerprintOf(versionPayload(record))]);
      }
    }
  };
  return { store, double, ingest, storeProduced };
}

describe('the corrections/duplicates lookup of an ingest answer', () => {
  it('counts new, re-sent and corrected events when the store answers in time', async () => {
    const { ingest, storeProduced } = setUp(1_000);
    const first = await ingest.ingest('probe', body(probe('a', 10), probe('b', 20)), { classify: true });
    expect(first).toMatchObject({ accepted: 2, corrected: 0, duplicate: 0, classified: true });
    storeProduced();
    // a again as it was (a re-send), b with another latency (a correction), c new.
    const second = await ingest.ingest('probe', body(probe('a', 10), probe('b', 25), probe('c', 30)), { classify: true });
    expect(second).toMatchObject({ accepted: 3, corrected: 1, duplicate: 1, classified: true });
  });

  it('answers once Kafka acknowledged and the time is over, without the counts, and gives the queued lookup up', async () => {
    const { store, ingest } = setUp(20);
    store.hold = true; // the store never answers: the answer must not depend on it
    const answer = await ingest.ingest('probe', body(probe('a', 10)), { classify: true });
    expect(answer).toMatchObject({ accepted: 1, classified: false });
    expect(answer).not.toHaveProperty('corrected');
    expect(answer).not.toHaveProperty('duplicate');
    expect(store.signals).toHaveLength(1);
    expect(store.signals[0]?.aborted).toBe(true);
  });

  it('uses counts the store gave after the time but before Kafka acknowledged: it never waits past the acknowledgement, nor throws them away', async () => {
    const { store, double, ingest, storeProduced } = setUp(20, 'hold');
    double.mode = 'record';
    await ingest.ingest('probe', body(probe('a', 10)), { classify: true });
    storeProduced();
    double.mode = 'hold';
    store.hold = true;
    const pending = ingest.ingest('probe', body(probe('a', 11)), { classify: true });
    await sleep(60); // past the 20 ms
    store.release();
    await sleep(5); // both of its queries (which ids are stored, then their fingerprints) answered
    double.releaseHeld();
    expect(await pending).toMatchObject({ accepted: 1, corrected: 1, duplicate: 0, classified: true });
    expect(store.signals.at(-1)?.aborted).toBe(false);
  });

  it('is not made when not asked for (the simulator): no counts, no classified field', async () => {
    const { store, ingest } = setUp(1_000);
    const answer = await ingest.ingest('probe', body(probe('a', 10)));
    expect(answer).not.toHaveProperty('classified');
    expect(store.signals).toHaveLength(0);
  });
});
