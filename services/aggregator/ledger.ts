import type { Store } from '../shared/store/store.ts';
import { TsvRows, tsvDateTime64MsArray, tsvIntegerArray, tsvString, tsvStringArray } from '../shared/store/tsv.ts';
import { eventIdHash } from './engine.ts';

/**
 * The versions of every event, per (source, eventId): what tells a correction from a
 * re-send, and the content a correction takes back out of the windows it counted in
 * (sql/0010 event_versions). Pure bookkeeping plus one read and one write; the
 * aggregator applies what it says to the windows, where each window's own record of the
 * versions it counts makes every step safe to replay (engine.ts, step 7).
 *
 * - A version is the record's content without `receivedAt` (a re-send of the same
 *   content, or the same file replayed, is the same version), hashed: its fingerprint.
 * - The first version counts like any new event. Of several, the current one is the one
 *   ingest received last (`receivedAt`; on a tie, the one read last): not the one the
 *   aggregator happens to read last, since a correction that moved the event to another
 *   region (another partition), or a retraction, can be read before the original when
 *   messages are read again after a restart.
 * - A version not seen before and received after the current one is a correction (or a
 *   retraction): every other version is taken out of its windows and it is counted. One
 *   received before the current one is superseded on arrival: kept, never counted. A
 *   version seen before is a re-send: it changes nothing (so a redelivered original never
 *   undoes its correction, and a file replayed twice counts nothing twice).
 * - Corrections are taken within `horizonMs` of the first version's arrival (receivedAt,
 *   stamped by ingest, so the verdict is the same when a message is redelivered).
 */

/** The fingerprint of a retraction: no record content hashes to it (see fingerprintOf). */
export const RETRACTION_FINGERPRINT = eventIdHash('\u0000cxvitals:retraction');

export const DEFAULT_CORRECTION_HORIZON_MS = 7 * 86_400_000;

/** The content of a record as a version: JSON without receivedAt (when ingest saw it is not what it says). */
export function versionPayload(record: Record<string, unknown>): string {
  const { receivedAt: _receivedAt, ...content } = record;
  return JSON.stringify(content);
}

export const fingerprintOf = (payload: string): number => eventIdHash(payload);

export interface EventHistory {
  /** Fingerprints in the order seen; the last is current. */
  fingerprints: number[];
  /** JSON content per version ('' for a retraction). */
  payloads: string[];
  /** When ingest received each version. */
  receivedAts: number[];
}

/** The index of the current version: received last, the later one on a tie. */
export function currentIndex(history: EventHistory): number {
  let best = 0;
  history.receivedAts.forEach((t, k) => {
    if (t >= (history.receivedAts[best] ?? Number.NEGATIVE_INFINITY)) best = k;
  });
  return best;
}

export const firstReceivedAt = (history: EventHistory): number => Math.min(...history.receivedAts);

export type Verdict =
  | { kind: 'new' }
  | { kind: 'resend' }
  | { kind: 'correction' }
  | { kind: 'retraction' }
  | { kind: 'past_horizon'; firstReceivedAt: number }
  /** Received before the current version: kept, not counted. */
  | { kind: 'superseded' }
  /** A retraction of an event not seen (yet): kept, so the event, if it comes, is superseded by it. */
  | { kind: 'not_found' };

/** What one incoming version is, given what was seen before of its eventId. */
export function verdictFor(
  history: EventHistory | undefined,
  fingerprint: number,
  receivedAt: number,
  horizonMs: number,
): Verdict {
  const retraction = fingerprint === RETRACTION_FINGERPRINT;
  if (!history) return retraction ? { kind: 'not_found' } : { kind: 'new' };
  if (history.fingerprints.includes(fingerprint)) return { kind: 'resend' };
  const first = firstReceivedAt(history);
  if (receivedAt - first > horizonMs) return { kind: 'past_horizon', firstReceivedAt: first };
  if (receivedAt < (history.receivedAts[currentIndex(history)] ?? Number.NEGATIVE_INFINITY)) return { kind: 'superseded' };
  return retraction ? { kind: 'retraction' } : { kind: 'correction' };
}

/**
 * What ingest tells a sender about the events it just accepted, before the aggregator has
 * read them: per eventId, the fingerprints already known (which ids are stored, then the
 * fingerprints of those). A view at receipt: the aggregator's verdict (its counters) is
 * the one that counts.
 */
export class StoredVersions {
  constructor(private readonly store: Store) {}

  async known(source: string, eventIds: readonly string[], signal?: AbortSignal): Promise<Map<string, number[]>> {
    const known = new Map<string, number[]>();
    const options = signal ? { signal } : {};
    const stored = (await storedEventIds(this.store, new Map([[source, new Set(eventIds)]]), options)).get(source) ?? [];
    for (const ids of idChunks(this.store, stored)) {
      const rows = await this.store.query<{ event_id: string; fingerprints: Array<string | number> }>(
        `SELECT event_id, fingerprints FROM ${this.store.table('event_versions')} FINAL
         WHERE source = {source:String} AND event_id IN {ids:Array(String)}`,
        { source, ids },
        options,
      );
      for (const r of rows) known.set(r.event_id, r.fingerprints.map(Number));
    }
    return known;
  }
}

/**
 * Of these eventIds per source, the ones event_versions holds at all: the key columns only,
 * without FINAL or payloads, in one query for every source (per chunk of ids), so ClickHouse
 * reads just the `event_id` granules the primary key selects. Most events are new, and for
 * them this is the whole look-up; the histories of the others are read after it.
 */
export async function storedEventIds(
  store: Store,
  wanted: ReadonlyMap<string, ReadonlySet<string>>,
  options: { signal?: AbortSignal } = {},
): Promise<Map<string, string[]>> {
  const sources = [...wanted].filter(([, ids]) => ids.size > 0).map(([source]) => source);
  const ids = new Set<string>();
  for (const source of sources) for (const id of wanted.get(source) ?? []) ids.add(id);
  const stored = new Map<string, string[]>();
  for (const chunk of idChunks(store, [...ids])) {
    const found = await store.query<{ source: string; event_id: string }>(
      `SELECT DISTINCT source, event_id FROM ${store.table('event_versions')}
       WHERE source IN {sources:Array(String)} AND event_id IN {ids:Array(String)}`,
      { sources, ids: chunk },
      options,
    );
    for (const r of found) {
      // Both lists matched apart: keep the pairs asked for.
      if (!wanted.get(r.source)?.has(r.event_id)) continue;
      const list = stored.get(r.source);
      if (list) list.push(r.event_id);
      else stored.set(r.source, [r.event_id]);
    }
  }
  return stored;
}

/** new, duplicate or corrected, per event of one body, in order: what the body would do given what is known. */
export function classifyVersions(
  events: ReadonlyArray<{ eventId: string; fingerprint: number }>,
  known: ReadonlyMap<string, readonly number[]>,
): { fresh: number; duplicate: number; corrected: number } {
  const seen = new Map<string, Set<number>>();
  const counts = { fresh: 0, duplicate: 0, corrected: 0 };
  for (const { eventId, fingerprint } of events) {
    let fingerprints = seen.get(eventId);
    if (!fingerprints) {
      fingerprints = new Set(known.get(eventId) ?? []);
      seen.set(eventId, fingerprints);
    }
    if (fingerprints.has(fingerprint)) counts.duplicate += 1;
    else if (fingerprints.size > 0) counts.corrected += 1;
    else counts.fresh += 1;
    fingerprints.add(fingerprint);
  }
  return counts;
}

/**
 * eventIds in groups a query can carry: over HTTP (a ClickHouse server) the parameters
 * travel in the URL, which servers and proxies cap (Node's own HTTP server at 16 KiB), so
 * at most about 6,000 characters of ids per query; embedded, all at once.
 */
export function idChunks(store: Pick<Store, 'mode'>, ids: readonly string[], maxChars = 6_000): string[][] {
  if (store.mode === 'embedded') return ids.length > 0 ? [[...ids]] : [];
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const id of ids) {
    // An id costs itself, quoting and URL escaping: count it three times over to be safe.
    const cost = 3 * (id.length + 3);
    if (chunk.length > 0 && chars + cost > maxChars) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chunk.push(id);
    chars += cost;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** event_versions' columns (sql/0010_corrections.sql) in the order of `pendingRows`' fields. */
const EVENT_VERSION_COLUMNS = ['source', 'event_id', 'fingerprints', 'payloads', 'received_ats', 'version'] as const;

interface VersionRow {
  event_id: string;
  fingerprints: Array<string | number>;
  payloads: string[];
  received: Array<string | number>;
}

/**
 * The histories of the events in flight: read for a batch's eventIds, changed as the batch
 * is counted, written before any window row and before any commit (a stored window only
 * ever refers to versions the store knows, in the order it knows them: `first` below; a
 * committed offset never outruns the versions its messages added), then forgotten (the
 * next batch reads again: only the store holds all of them). Between two writes a batch
 * finds the histories earlier batches changed in memory, not read again; the ones they only
 * read are read again (`forgetUnchanged`).
 */
export class EventLedger {
  private readonly known = new Map<string, EventHistory>();
  private readonly changed = new Set<string>();

  private static id(source: string, eventId: string): string {
    return `${source}\u0000${eventId}`;
  }

  get(source: string, eventId: string): EventHistory | undefined {
    return this.known.get(EventLedger.id(source, eventId));
  }

  /**
   * Reads the histories of these eventIds that are not in memory, in two steps: which of
   * them the store knows at all (`storedEventIds`), then the whole histories of those
   * alone, per source.
   */
  async load(store: Store, wanted: Map<string, Set<string>>): Promise<void> {
    const missing = new Map<string, Set<string>>();
    for (const [source, ids] of wanted) {
      const notInMemory = new Set([...ids].filter((id) => !this.known.has(EventLedger.id(source, id))));
      if (notInMemory.size > 0) missing.set(source, notInMemory);
    }
    const stored = await storedEventIds(store, missing);
    for (const [source, ids] of stored) {
      const rows: VersionRow[] = [];
      for (const chunk of idChunks(store, ids)) {
        rows.push(
          ...(await store.query<VersionRow>(
            `SELECT event_id, fingerprints, payloads, arrayMap(t -> toUnixTimestamp64Milli(t), received_ats) AS received
             FROM ${store.table('event_versions')} FINAL
             WHERE source = {source:String} AND event_id IN {ids:Array(String)}`,
            { source, ids: chunk },
          )),
        );
      }
      for (const row of rows) {
        this.known.set(EventLedger.id(source, row.event_id), {
          fingerprints: row.fingerprints.map(Number),
          payloads: row.payloads,
          receivedAts: row.received.map(Number),
        });
      }
    }
  }

  /** Appends a version (current or not: see currentIndex). */
  append(source: string, eventId: string, fingerprint: number, payload: string, receivedAt: number): EventHistory {
    const id = EventLedger.id(source, eventId);
    const history = this.known.get(id) ?? { fingerprints: [], payloads: [], receivedAts: [] };
    history.fingerprints.push(fingerprint);
    history.payloads.push(payload);
    history.receivedAts.push(receivedAt);
    this.known.set(id, history);
    this.changed.add(id);
    return history;
  }

  /**
   * Rows of the histories changed since the last `written()`, as TabSeparated lines (one per
   * event of the flush, its payloads as long as raw_events': no object per row, the JSON
   * escaped once, like raw-events.ts).
   */
  pendingRows(): TsvRows {
    const lines: string[] = [];
    for (const id of this.changed) {
      const cut = id.indexOf('\u0000');
      const history = this.known.get(id) as EventHistory;
      lines.push(
        [
          tsvString(id.slice(0, cut)),
          tsvString(id.slice(cut + 1)),
          tsvIntegerArray(history.fingerprints),
          tsvStringArray(history.payloads),
          tsvDateTime64MsArray(history.receivedAts),
          String(history.fingerprints.length),
        ].join('\t'),
      );
    }
    return new TsvRows(EVENT_VERSION_COLUMNS, lines);
  }

  /** Histories changed since the last `written()`: rows the store does not have yet. */
  get pending(): number {
    return this.changed.size;
  }

  /** Histories in memory, changed or only read. */
  get size(): number {
    return this.known.size;
  }

  /**
   * After a batch: histories only read (not changed here) are dropped, so the next batch
   * reads them again and sees what other members wrote meanwhile; the changed ones stay
   * until they are stored (the store does not have them yet).
   */
  forgetUnchanged(): void {
    for (const id of this.known.keys()) if (!this.changed.has(id)) this.known.delete(id);
  }

  /** After the pending rows are stored: memory holds nothing until the next batch reads. */
  written(): void {
    this.changed.clear();
    this.known.clear();
  }
}
