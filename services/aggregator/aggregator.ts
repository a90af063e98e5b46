import { setTimeout as sleep } from 'node:timers/promises';
import { probeBinding, splitProbeKey } from '../families/probe/binding.ts';
import {
  type Bus,
  type ConsumedMessage,
  type ConsumerHandle,
  DLQ_TOPIC,
  recordBytes,
  type TopicPartition,
} from '../shared/bus/bus.ts';
import type { MaintenanceWindow } from '../shared/kpi/availability.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import { FINGERPRINT_HEADER, readerFor } from '../shared/sources/avro.ts';
import type { MaintenanceRecord } from '../shared/sources/maintenance.ts';
import type { SourceName } from '../shared/sources/registry.ts';
import { readMaintenanceWindows } from '../shared/store/maintenance.ts';
import type { Store } from '../shared/store/store.ts';
import type { InsertRows } from '../shared/store/tsv.ts';
import type { AnyBinding } from './binding.ts';
import {
  type AddOutcome,
  type EventVersion,
  type RemoveOutcome,
  WindowEngine,
  type WindowEntry,
  windowStartOf,
} from './engine.ts';
import { BINDINGS } from './families/index.ts';
import {
  currentIndex,
  DEFAULT_CORRECTION_HORIZON_MS,
  type EventHistory,
  EventLedger,
  fingerprintOf,
  RETRACTION_FINGERPRINT,
  type Verdict,
  verdictFor,
  versionPayload,
} from './ledger.ts';
import { MaintenanceRegistry } from './maintenance-registry.ts';
import { rawEventLine, rawEventRows, type WindowedRecord } from './raw-events.ts';
import { loadStoredWindowEnds, loadStoredWindows } from './recovery.ts';
import { OP_HEADER, RETRACT_OP, readRetraction } from './retraction.ts';
import { type SourceTopic, sourceTopics } from './topics.ts';

/**
 * The aggregator service: consumes the source topics (live and backfill), feeds the
 * window engine, writes due windows to ClickHouse and commits offsets only for what is
 * written (the protocol is described at the top of engine.ts). Batches, timer flushes
 * and rebalances run one at a time; a failing store write is retried with backoff and
 * holds the consumer, which is the backpressure path.
 *
 * Checkpoints: once a partition has delivered `checkpoint.bytesPerPartition` since the
 * last one, or `checkpoint.intervalMs` after it (defaults 1 MiB / 15 s), a flush writes
 * the open windows too, not only the closed ones. Offsets are then committed up to
 * seconds ago instead of a window and more ago, and raw rows leave memory as soon: a
 * broker that keeps little (the embedded one) never needs to hold more than that for a
 * restart, and ingest can tell how far behind this group is from its commits
 * (ingest/backlog.ts). A checkpointed window stays open and is written again (a new
 * version) when it closes; readers see its count so far meanwhile.
 *
 * Write order in a flush: the raw events of the due windows, then the window rows (each
 * row carries its state, the last offset and the eventIds it counts, in one insert),
 * then late events and maintenance rows, then the offset commit. A crash anywhere in
 * between is safe: raw_events is idempotent (the same event is the same row), and
 * whatever the stored rows do not count is redelivered and counted by the next owner.
 */

export const WINDOW_SIZE_MS = 60_000;
export const AGGREGATOR_GROUP = 'cxvitals-aggregator';
/** Changed version histories held between two ledger writes, at most (each holds its payloads). */
const LEDGER_MAX_IN_MEMORY = 50_000;

export interface AggregatorOptions {
  bus: Bus;
  store: Store;
  metrics: Metrics;
  log: Logger;
  windows: { outOfOrdernessMs: number; allowedLatenessMs: number; idlePartitionMs: number; backfillOutOfOrdernessMs: number };
  /** Identifies the Kafka cluster incarnation whose offsets stored rows refer to. */
  busEpoch: string;
  groupId?: string;
  flushIntervalMs?: number;
  /**
   * Open windows are also written (a checkpoint) once some partition has delivered this
   * many bytes since the last one, or this long after it, so offsets can be committed and
   * raw rows leave memory within seconds instead of after the window closes (a minute and
   * more). 0 turns that trigger off (both 0: no checkpoints). Default 1 MiB / 15 s.
   */
  checkpoint?: { bytesPerPartition: number; intervalMs: number };
  bindings?: readonly AnyBinding[];
  /** How long after an event's first version a correction or retraction is applied (default 7 days); later ones go to late_events. */
  correctionHorizonMs?: number;
  now?: () => number;
}

interface LateRow {
  source: string;
  event_id: string;
  service: string;
  region: string;
  event_time: number;
  watermark: number;
  late_by_ms: number;
  payload: string;
  /** too_late, or correction_past_horizon. */
  reason: string;
}

type Outcome = AddOutcome | 'dead_lettered' | 'corrected' | 'retracted' | 'correction_past_horizon' | 'not_found';

interface Decoded {
  message: ConsumedMessage;
  source: SourceName;
  record: Record<string, unknown>;
  /** A retraction: `record` is only `{eventId, receivedAt}`. */
  retract?: boolean;
}

const partitionId = (topic: string, partition: number): string => `${topic}:${partition}`;

function parsePartitionId(id: string): TopicPartition {
  const cut = id.lastIndexOf(':');
  return { topic: id.slice(0, cut), partition: Number(id.slice(cut + 1)) };
}

export class Aggregator {
  private readonly engine: WindowEngine;
  private readonly registry = new MaintenanceRegistry();
  private readonly now: () => number;
  private readonly bindings: readonly AnyBinding[];
  private readonly bindingsBySource = new Map<SourceName, AnyBinding[]>();
  private readonly bindingByFamily = new Map<string, AnyBinding>();
  private readonly topics: Map<string, SourceTopic>;
  private consumer: ConsumerHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  /** Serialises batches, flushes and rebalances. */
  private chain: Promise<unknown> = Promise.resolve();
  private pendingLate: LateRow[] = [];
  private readonly ledger = new EventLedger();
  private readonly correctionHorizonMs: number;
  private pendingMaintenance: Array<Record<string, unknown>> = [];
  /** Per family and key, the newest window start already stored: later windows need no store lookup. */
  private readonly storedUpTo = new Map<string, number>();
  private readonly lastCommitted = new Map<string, number>();
  /** Per topic, per partition: the offset after the last one consumed, to notice offsets never delivered. */
  private readonly nextOffset = new Map<string, Map<number, number>>();
  private stopping = false;
  private lastFlushAt = 0;
  private lastCheckpointAt: number;
  /** Per partition, message bytes consumed since the last checkpoint; and the largest of them. */
  private readonly bytesSinceCheckpoint = new Map<string, number>();
  private mostBytesSinceCheckpoint = 0;
  private readonly checkpoint: { bytesPerPartition: number; intervalMs: number };

  constructor(private readonly o: AggregatorOptions) {
    this.now = o.now ?? Date.now;
    this.correctionHorizonMs = o.correctionHorizonMs ?? DEFAULT_CORRECTION_HORIZON_MS;
    this.checkpoint = o.checkpoint ?? { bytesPerPartition: 2 ** 20, intervalMs: 15_000 };
    this.lastCheckpointAt = this.now();
    this.bindings = o.bindings ?? BINDINGS;
    const backfill = new Set<string>();
    this.topics = sourceTopics([...new Set([...this.bindings.map((b) => b.source), 'maintenance' as SourceName])]);
    for (const [topic, t] of this.topics) if (t.backfill) backfill.add(topic);
    this.engine = new WindowEngine({
      windowSizeMs: WINDOW_SIZE_MS,
      ...o.windows,
      // History replays arrive in file order, not wall-clock order: their windows stay
      // open until the file's own clock (or the partition going idle) closes them.
      outOfOrdernessFor: (pid) => (backfill.has(parsePartitionId(pid).topic) ? o.windows.backfillOutOfOrdernessMs : undefined),
      // …and a pause in a replay (longer than the idle time) closes its windows without
      // making the rest of the file late.
      replayPartition: (pid) => backfill.has(parsePartitionId(pid).topic),
    });
    for (const binding of this.bindings) {
      this.engine.register(binding.family);
      this.bindingByFamily.set(binding.family.name, binding);
      const list = this.bindingsBySource.get(binding.source) ?? [];
      list.push(binding);
      this.bindingsBySource.set(binding.source, list);
    }
  }

  get maintenance(): MaintenanceRegistry {
    return this.registry;
  }

  async start(): Promise<void> {
    await this.loadMaintenance();
    await this.loadStoredWindowEnds();
    const topics = [...this.topics.keys()];
    await this.o.bus.ensureTopics([...topics, DLQ_TOPIC]);
    this.consumer = await this.o.bus.subscribe({
      groupId: this.o.groupId ?? AGGREGATOR_GROUP,
      topics,
      fromBeginning: true,
      maxBatchSize: 5000,
      onBatch: (messages) => this.serial(() => this.handleBatch(messages)),
      // Partitions handed over by another member come with windows it wrote after this
      // member started: without a fresh look, they would be rewritten from scratch.
      onAssign: () => this.serial(() => this.retry('stored window ends', () => this.loadStoredWindowEnds())),
      onRevoke: (partitions) => this.serial(() => this.handleRevoke(partitions)),
      onError: (err) => this.o.log.error({ err }, 'aggregator consumer stopped; restart the aggregator'),
    });
    const interval = this.o.flushIntervalMs ?? 1000;
    this.timer = setInterval(() => {
      if (this.now() - this.lastFlushAt >= interval) void this.serial(() => this.flush(false)).catch(() => {});
    }, interval);
    this.timer.unref();
    // Lag queries are blocking calls on libuv's thread pool (one per partition): sampled sparingly.
    this.lagTimer = setInterval(() => void this.sampleLag(), 10_000);
    this.lagTimer.unref();
    this.o.log.info({ topics, maintenanceWindows: this.registry.size }, 'aggregator started');
  }

  /** Per family and key, the newest stored window start (written by any member of the group). */
  private async loadStoredWindowEnds(): Promise<void> {
    for (const binding of this.bindings) {
      for (const [key, end] of await loadStoredWindowEnds(this.o.store, binding)) {
        const id = `${binding.family.name}\u0000${key}`;
        this.storedUpTo.set(id, Math.max(this.storedUpTo.get(id) ?? Number.NEGATIVE_INFINITY, end));
      }
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => {});
    return next;
  }

  private async loadMaintenance(): Promise<void> {
    for (const m of await readMaintenanceWindows(this.o.store)) this.registry.upsert(m);
  }

  private async handleBatch(messages: ConsumedMessage[]): Promise<void> {
    const wallNow = this.now();
    if (this.o.log.isLevelEnabled('debug')) {
      const ranges = new Map<string, [number, number]>();
      for (const m of messages) {
        const id = partitionId(m.topic, m.partition);
        const r = ranges.get(id);
        ranges.set(id, r ? [Math.min(r[0], m.offset), Math.max(r[1], m.offset)] : [m.offset, m.offset]);
      }
      this.o.log.debug({ ranges: [...ranges] }, 'batch');
    }
    const decoded: Decoded[] = [];
    for (const message of messages) {
      this.o.metrics.busConsumed.inc({ topic: message.topic });
      this.checkContiguous(message);
      const topic = this.topics.get(message.topic);
      if (!topic) continue;
      this.o.metrics.aggregatorReceived.inc({ source: topic.source });
      try {
        if (message.headers[OP_HEADER] === RETRACT_OP) {
          if (topic.source === 'maintenance') {
            throw Object.assign(new Error('maintenance windows are not retracted: send the maintenanceId again with new times'), {
              code: 'BAD_RETRACTION',
            });
          }
          decoded.push({ message, source: topic.source, record: { ...readRetraction(message.value) }, retract: true });
          continue;
        }
        // The writer's schema travels as a fingerprint: older schemas kept under
        // schemas/avro/history/ are resolved to the current reader.
        const record = readerFor(topic.source).decodeWith(message.headers[FINGERPRINT_HEADER], message.value);
        decoded.push({ message, source: topic.source, record });
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'UNDECODABLE';
        await this.deadLetter(message, topic.source, `${code}: ${(err as Error).message}`);
        this.engine.consumed(partitionId(message.topic, message.partition), message.offset, wallNow);
      }
    }
    await this.loadHistories(decoded);
    await this.seedStoredWindows(decoded.flatMap((d) => [d, ...this.earlierVersions(d)]));
    for (const { message, source, record, retract } of decoded) {
      const pid = partitionId(message.topic, message.partition);
      if (source === 'maintenance') {
        this.applyMaintenance(record as unknown as MaintenanceRecord, pid, message.offset, wallNow);
        continue;
      }
      const bytes = (this.bytesSinceCheckpoint.get(pid) ?? 0) + recordBytes(message.key, message.value, message.headers);
      this.bytesSinceCheckpoint.set(pid, bytes);
      if (bytes > this.mostBytesSinceCheckpoint) this.mostBytesSinceCheckpoint = bytes;
      this.count(
        source,
        this.countVersion(source, record as unknown as WindowedRecord, retract === true, pid, message.offset, wallNow),
      );
    }
    await this.flush(false);
    this.ledger.forgetUnchanged();
  }

  /**
   * One version of an event, against the versions seen before (ledger.ts): the first is
   * counted, a re-send changes nothing, a correction or retraction takes the earlier
   * versions out of their windows and counts the new one (docs/corrections.md).
   */
  private countVersion(
    source: SourceName,
    record: WindowedRecord,
    retract: boolean,
    pid: string,
    offset: number,
    wallNow: number,
  ): Outcome {
    const payload = retract ? '' : versionPayload(record as unknown as Record<string, unknown>);
    const fingerprint = retract ? RETRACTION_FINGERPRINT : fingerprintOf(payload);
    const history = this.ledger.get(source, record.eventId);
    const verdict: Verdict = verdictFor(history, fingerprint, record.receivedAt, this.correctionHorizonMs);
    switch (verdict.kind) {
      case 'new': {
        const outcome = this.addVersion(source, record, pid, offset, wallNow, { fingerprint, first: fingerprint }, record);
        if (outcome === 'too_late') this.pendingLate.push(this.lateRow(source, record, 'too_late', this.engine.tooLateWatermark));
        else this.ledger.append(source, record.eventId, fingerprint, payload, record.receivedAt);
        return outcome;
      }
      case 'not_found':
        // Kept: read again after a restart, the retraction may come before its event.
        this.ledger.append(source, record.eventId, fingerprint, payload, record.receivedAt);
        this.engine.consumed(pid, offset, wallNow);
        return 'not_found';
      case 'superseded': {
        const updated = this.ledger.append(source, record.eventId, fingerprint, payload, record.receivedAt);
        this.reconcile(source, record, updated, pid, offset, wallNow, fingerprint);
        return 'duplicate';
      }
      case 'past_horizon': {
        this.engine.consumed(pid, offset, wallNow);
        // A retraction carries no content: its row shows the version it would have removed.
        const shown = retract && history ? { ...currentContent(history, record), receivedAt: record.receivedAt } : record;
        this.pendingLate.push(
          this.lateRow(source, shown, 'correction_past_horizon', verdict.firstReceivedAt + this.correctionHorizonMs),
        );
        return 'correction_past_horizon';
      }
      case 'resend': {
        // Every earlier version out, the current one in: each step a no-op where done, so
        // a re-send after a crash completes a correction the windows had not all stored.
        return this.reconcile(source, record, history as EventHistory, pid, offset, wallNow, fingerprint);
      }
      case 'correction':
      case 'retraction': {
        const updated = this.ledger.append(source, record.eventId, fingerprint, payload, record.receivedAt);
        this.reconcile(source, record, updated, pid, offset, wallNow, fingerprint);
        return verdict.kind === 'correction' ? 'corrected' : 'retracted';
      }
    }
  }

  /** Makes the windows count the current version of an event and no other. Returns what adding the current one did. */
  private reconcile(
    source: SourceName,
    incoming: WindowedRecord,
    history: EventHistory,
    pid: string,
    offset: number,
    wallNow: number,
    incomingFingerprint: number,
  ): Outcome {
    const first = history.fingerprints[0] ?? incomingFingerprint;
    const last = currentIndex(history);
    for (let k = 0; k < history.fingerprints.length; k += 1) {
      const fingerprint = history.fingerprints[k] as number;
      if (k === last) continue;
      if (fingerprint === RETRACTION_FINGERPRINT) continue;
      this.removeVersion(source, parseVersion(history, k, incoming), pid, offset, wallNow, { fingerprint, first });
    }
    const current = history.fingerprints[last] as number;
    if (current === RETRACTION_FINGERPRINT) {
      this.engine.consumed(pid, offset, wallNow);
      return 'duplicate';
    }
    const record = current === incomingFingerprint ? incoming : parseVersion(history, last, incoming);
    // The raw row is the current version's, whichever version this message carried: a
    // successor that reads an earlier version first (the store already knows the later one)
    // counts the current one here, and must store its raw row too — the current version's
    // own message then finds it counted and builds none.
    const raw =
      current === incomingFingerprint ? incoming : { ...record, receivedAt: history.receivedAts[last] ?? incoming.receivedAt };
    // Never judged late: the event is known (the horizon was checked for a new version), so
    // its window is read back and rewritten if needed, or finds it already counted (a
    // re-send long after its window closed is a duplicate, not a late event).
    return this.addVersion(source, record, pid, offset, wallNow, { fingerprint: current, first, ignoreLateness: true }, raw);
  }

  private addVersion(
    source: SourceName,
    record: WindowedRecord,
    pid: string,
    offset: number,
    wallNow: number,
    version: EventVersion,
    /** The event's raw row (raw_events), stored if the windows count it now. */
    raw: WindowedRecord,
  ): AddOutcome {
    let first: AddOutcome = 'duplicate';
    (this.bindingsBySource.get(source) ?? []).forEach((binding, i) => {
      const outcome = this.engine.add(
        binding.family.name,
        binding.keyOf(record),
        record.ts,
        pid,
        offset,
        record,
        wallNow,
        record.eventId,
        // The raw event is stored once, with the first family that counts it.
        i === 0 ? () => rawEventLine(source, raw) : undefined,
        version,
      );
      if (i === 0) first = outcome;
    });
    return first;
  }

  private removeVersion(
    source: SourceName,
    record: WindowedRecord,
    pid: string,
    offset: number,
    wallNow: number,
    version: EventVersion,
  ): RemoveOutcome {
    let first: RemoveOutcome = 'not_counted';
    (this.bindingsBySource.get(source) ?? []).forEach((binding, i) => {
      const outcome = this.engine.remove(
        binding.family.name,
        binding.keyOf(record),
        record.ts,
        pid,
        offset,
        record,
        wallNow,
        record.eventId,
        version,
      );
      if (i === 0) first = outcome;
    });
    return first;
  }

  /** Reads the version histories of a batch's events (one query per source). */
  private async loadHistories(decoded: Decoded[]): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const { source, record } of decoded) {
      if (source === 'maintenance') continue;
      const ids = wanted.get(source) ?? new Set<string>();
      ids.add(String(record.eventId));
      wanted.set(source, ids);
    }
    if (wanted.size > 0) await this.retry('event_versions (read)', () => this.ledger.load(this.o.store, wanted));
  }

  /** Earlier versions of a batch's events that a correction may take out of stored windows. */
  private earlierVersions(d: Decoded): Decoded[] {
    if (d.source === 'maintenance') return [];
    const history = this.ledger.get(d.source, String(d.record.eventId));
    if (!history) return [];
    const out: Decoded[] = [];
    history.payloads.forEach((payload, k) => {
      if (payload !== '')
        out.push({
          ...d,
          retract: false,
          record: parseVersion(history, k, d.record as unknown as WindowedRecord) as unknown as Record<string, unknown>,
        });
    });
    return out;
  }

  private lateRow(source: string, record: WindowedRecord, reason: string, watermark: number): LateRow {
    return {
      source,
      event_id: record.eventId,
      service: record.service,
      region: record.region,
      event_time: record.ts,
      watermark,
      late_by_ms:
        reason === 'too_late'
          ? watermark - (windowStartOf(record.ts, WINDOW_SIZE_MS) + WINDOW_SIZE_MS)
          : record.receivedAt - watermark,
      payload: JSON.stringify(record),
      reason,
    };
  }

  private count(source: string, outcome: Outcome): void {
    this.o.metrics.aggregatorOutcome.inc({ source, outcome });
  }

  private applyMaintenance(m: MaintenanceRecord, pid: string, offset: number, wallNow: number): void {
    this.engine.consumed(pid, offset, wallNow);
    const window: MaintenanceWindow = {
      maintenanceId: m.maintenanceId,
      service: m.service,
      region: m.region,
      startMs: m.start,
      endMs: m.end,
      declaredAtMs: m.declaredAt,
      receivedAtMs: m.receivedAt,
      description: m.description,
    };
    const { changed, replaced } = this.registry.upsert(window);
    this.count('maintenance', changed ? 'counted' : 'duplicate');
    if (!changed) return;
    this.pendingMaintenance.push({
      maintenance_id: m.maintenanceId,
      service: m.service,
      region: m.region ?? '',
      start_at: m.start,
      end_at: m.end,
      declared_at: m.declaredAt,
      received_at: m.receivedAt,
      retroactive: m.declaredAt > m.start ? 1 : 0,
      description: m.description ?? '',
      version: m.declaredAt * 1000 + (offset % 1000),
    });
    // Probe windows in memory that the old or the new declaration touches are re-classified.
    const spans = [window, ...(replaced ? [replaced] : [])];
    this.engine.markDirty(
      (entry) =>
        entry.family === probeBinding.family.name &&
        spans.some((s) => {
          const { service, region } = splitProbeKey(entry.key);
          return (
            s.service === service &&
            (s.region === null || s.region === region) &&
            s.startMs < entry.windowEnd &&
            s.endMs > entry.windowStart
          );
        }),
      { partition: pid, offset },
    );
  }

  /**
   * Before counting, installs windows that are already stored but not in memory (after a
   * restart, a rebalance or for a replayed file): their stored state becomes the base,
   * redelivered messages they already count are skipped by offset, and events they
   * already count are skipped by eventId.
   */
  private async seedStoredWindows(
    decoded: Array<{ source: SourceName; record: Record<string, unknown>; retract?: boolean }>,
  ): Promise<void> {
    const wanted = new Map<AnyBinding, Map<string, Set<number>>>();
    for (const { source, record, retract } of decoded) {
      if (retract) continue;
      for (const binding of this.bindingsBySource.get(source) ?? []) {
        const r = record as unknown as WindowedRecord;
        const key = binding.keyOf(r);
        const start = windowStartOf(r.ts, WINDOW_SIZE_MS);
        if ((this.storedUpTo.get(`${binding.family.name}\u0000${key}`) ?? Number.NEGATIVE_INFINITY) < start) continue;
        if (this.engine.has(binding.family.name, key, start)) continue;
        const byKey = wanted.get(binding) ?? new Map<string, Set<number>>();
        const starts = byKey.get(key) ?? new Set<number>();
        starts.add(start);
        byKey.set(key, starts);
        wanted.set(binding, byKey);
      }
    }
    for (const [binding, byKey] of wanted) {
      for (const [key, starts] of byKey) {
        const stored = await loadStoredWindows(this.o.store, binding, key, [...starts], WINDOW_SIZE_MS);
        for (const w of stored) {
          const counted = new Map<string, number>();
          if (w.busEpoch === this.o.busEpoch && w.partition !== '') counted.set(w.partition, w.lastOffset);
          this.engine.seed(binding.family.name, key, w.windowStart, binding.fromRow(w.row), w.version, counted, w.idHashes, {
            versions: w.versions,
            retired: w.retired,
          });
          this.o.log.debug(
            {
              family: binding.family.name,
              key,
              windowStart: w.windowStart,
              version: w.version,
              counted: [...counted],
              ids: w.idHashes.length,
            },
            'stored window seeded',
          );
        }
      }
    }
  }

  private async deadLetter(message: ConsumedMessage, source: string, reason: string): Promise<void> {
    this.count(source, 'dead_lettered');
    this.o.log.warn(
      { topic: message.topic, partition: message.partition, offset: message.offset, reason },
      'message dead-lettered',
    );
    const value = Buffer.from(
      JSON.stringify({
        reason,
        origin: { topic: message.topic, partition: message.partition, offset: message.offset },
        headers: message.headers,
        payloadBase64: message.value.toString('base64'),
        at: new Date(this.now()).toISOString(),
      }),
    );
    await this.retry('dlq', () => this.o.bus.produce(DLQ_TOPIC, [{ key: message.key ?? '', value }]));
  }

  /**
   * Writes due windows, the raw events they count, late events and maintenance rows; then
   * commits what is safe. Only the last flush of a stop waits for the broker to store the
   * offsets (`waitForCommit`): a lost commit only means redelivery, which the stored rows
   * absorb, while waiting would stall this process — ingest and the API too, when they
   * share it — for as long as the broker does not answer (a broker gone past the session
   * timeout also revokes every partition, so the revoke path must not wait either).
   */
  async flush(force: boolean, waitForCommit = false): Promise<void> {
    const wallNow = this.now();
    this.lastFlushAt = wallNow;
    const { bytesPerPartition, intervalMs } = this.checkpoint;
    const checkpoint =
      force ||
      (bytesPerPartition > 0 && this.mostBytesSinceCheckpoint >= bytesPerPartition) ||
      (intervalMs > 0 && wallNow - this.lastCheckpointAt >= intervalMs);
    if (checkpoint) {
      this.lastCheckpointAt = wallNow;
      this.bytesSinceCheckpoint.clear();
      this.mostBytesSinceCheckpoint = 0;
    }
    const due = this.engine.due(wallNow, checkpoint);
    // Version histories before any window row: a stored window refers only to versions the
    // store knows (in the order it knows them). They may be ahead of the windows (those still
    // open): a redelivered message then completes them. Written with the windows rather than
    // at every batch (fewer, larger inserts), and before any commit (below).
    if (due.length > 0 || force || this.ledger.size >= LEDGER_MAX_IN_MEMORY) await this.writeLedger();
    if (due.length > 0) {
      const versions = due.map(() => this.engine.nextVersion(wallNow));
      const byTable = new Map<string, Array<Record<string, unknown>>>();
      due.forEach((entry, i) => {
        const binding = this.bindingByFamily.get(entry.family);
        if (!binding) return;
        const rows = byTable.get(binding.table) ?? [];
        rows.push({
          ...binding.toRow(entry.state, entry.windowStart, this.rowMeta(entry, versions[i] ?? 0), { maintenance: this.registry }),
          event_ids: [...entry.ids],
          corrected_ids: [...entry.versions.keys()],
          corrected_fingerprints: [...entry.versions.values()],
          retired_versions: [...entry.retired],
        });
        byTable.set(binding.table, rows);
      });
      if (this.o.log.isLevelEnabled('debug')) {
        for (const [i, entry] of due.entries()) {
          this.o.log.debug(
            {
              family: entry.family,
              key: entry.key,
              windowStart: entry.windowStart,
              ...this.rowMeta(entry, versions[i] ?? 0),
              ids: entry.ids.size,
              force,
              checkpoint,
            },
            'window due',
          );
        }
      }
      const raw = due.flatMap((entry) => entry.pendingRaw);
      if (raw.length > 0) await this.write('raw_events', rawEventRows(raw));
      for (const [table, rows] of byTable) await this.write(table, rows);
      this.engine.markWritten(due, versions, wallNow);
      for (const entry of due) {
        const id = `${entry.family}\u0000${entry.key}`;
        this.storedUpTo.set(id, Math.max(this.storedUpTo.get(id) ?? Number.NEGATIVE_INFINITY, entry.windowStart));
      }
    }
    if (this.pendingLate.length > 0) {
      await this.write('late_events', this.pendingLate);
      this.pendingLate = [];
    }
    if (this.pendingMaintenance.length > 0) {
      await this.write('maintenance_windows', this.pendingMaintenance);
      this.pendingMaintenance = [];
    }
    this.engine.evict(wallNow);
    this.o.metrics.openWindows.set(this.engine.size);
    await this.commit(waitForCommit);
  }

  private rowMeta(entry: WindowEntry, version: number) {
    const single = entry.lastOffset.size === 1 ? [...entry.lastOffset.entries()][0] : undefined;
    return { version, busEpoch: this.o.busEpoch, partition: single?.[0] ?? '', lastOffset: single?.[1] ?? -1 };
  }

  private async write(table: string, rows: InsertRows): Promise<void> {
    await this.retry(table, async () => {
      const end = this.o.metrics.storeInsertSeconds.startTimer({ table });
      await this.o.store.insert(table, rows);
      end();
    });
    this.o.metrics.windowsWritten.inc({ table }, rows.length);
  }

  /** Retries until it works: a lost write would break the exactly-once effect. Gives up only when stopping. */
  private async retry(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let n = 0; ; n += 1) {
      try {
        await attempt();
        return;
      } catch (err) {
        if (what !== 'dlq') this.o.metrics.storeWriteFailures.inc({ table: what });
        // Capped at 5 s: after an outage the next try comes at most 5 s after the store is
        // back, and one failing insert every 5 s costs the store nothing.
        const delay = Math.min(5_000, 200 * 2 ** Math.min(n, 5));
        this.o.log.error({ err, what, attempt: n + 1, retryInMs: delay }, 'write failed; retrying (consumption is paused)');
        if (this.stopping && n >= 3) throw err;
        await sleep(delay);
      }
    }
  }

  /** Commits what is safe: awaited (`wait`), every partition; otherwise only what changed since the last commit. */
  private async writeLedger(): Promise<void> {
    if (this.ledger.pending > 0) await this.write('event_versions', this.ledger.pendingRows());
    this.ledger.written();
  }

  private async commit(wait: boolean): Promise<void> {
    if (!this.consumer) return;
    const offsets = [];
    for (const [pid, offset] of this.engine.commitSafeOffsets()) {
      if (offset <= 0 || (!wait && this.lastCommitted.get(pid) === offset)) continue;
      offsets.push({ ...parsePartitionId(pid), offset });
    }
    if (offsets.length === 0) return;
    // A committed correction, retraction or superseded version is never forgotten: the
    // versions its message added are stored before its offset is (a re-send or a
    // retraction that counted nothing can be committed without any window written).
    await this.writeLedger();
    this.o.log.debug({ offsets, wait }, 'committing');
    await this.consumer.commit(offsets, { wait });
    for (const o of offsets) this.lastCommitted.set(partitionId(o.topic, o.partition), o.offset);
  }

  private async handleRevoke(partitions: TopicPartition[]): Promise<void> {
    try {
      await this.flush(true);
    } finally {
      // Released even when the flush or its commit failed (a broker answers commits during a
      // rebalance with REBALANCE_IN_PROGRESS): the next owner rebuilds from Kafka and the store,
      // and this member must not keep windows it may get back later, stale.
      this.engine.release(partitions.map((p) => partitionId(p.topic, p.partition)));
      for (const p of partitions) {
        this.lastCommitted.delete(partitionId(p.topic, p.partition));
        this.nextOffset.get(p.topic)?.delete(p.partition);
      }
    }
  }

  /**
   * Offsets on a partition are contiguous (cxvitals produces no transactions), so a jump
   * between two consumed messages means the ones between were gone from the broker when
   * the consumer reached them and it skipped ahead: acknowledged events lost. This cannot
   * bring them back; it makes the loss visible (metric, error log) instead of silent.
   */
  private checkContiguous(message: ConsumedMessage): void {
    // Keyed by topic, then partition: no string built per message on this hot path.
    let byPartition = this.nextOffset.get(message.topic);
    if (!byPartition) {
      byPartition = new Map();
      this.nextOffset.set(message.topic, byPartition);
    }
    const expected = byPartition.get(message.partition);
    if (expected !== undefined && message.offset > expected) {
      const skipped = message.offset - expected;
      this.o.metrics.skippedOffsets.inc({ topic: message.topic }, skipped);
      this.o.log.error(
        { topic: message.topic, partition: message.partition, fromOffset: expected, toOffset: message.offset - 1, skipped },
        'messages never delivered: the broker no longer had them when the aggregator got there, so their events are lost. ' +
          'With the embedded broker (about 5 MiB kept per partition) the aggregator fell too far behind: lower the load or use Kafka; ' +
          'with Kafka, raise the topic retention above the longest lag',
      );
    }
    byPartition.set(message.partition, message.offset + 1);
  }

  private async sampleLag(): Promise<void> {
    if (!this.consumer) return;
    const lag = await this.consumer.lag().catch(() => undefined);
    if (!lag) return;
    this.o.metrics.consumerLag.set(lag.reduce((sum, p) => sum + Math.max(0, p.lag), 0));
    this.o.metrics.assignedPartitions.set(this.consumer.assignment().length);
  }

  /** Waits (bounded) until everything already acknowledged by Kafka has been consumed. */
  private async drain(timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (this.consumer && this.now() < deadline) {
      const lag = await this.consumer.lag().catch(() => []);
      if (lag.every((p) => p.lag <= 0)) return;
      await sleep(100);
    }
    this.o.log.warn({ timeoutMs }, 'stopping before the aggregator caught up with the bus');
  }

  /** Ordered stop: drain, flush every open window (partial windows are completed after a restart), commit, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.drain(10_000);
    try {
      await this.serial(() => this.flush(true, true));
    } finally {
      await this.consumer?.close();
    }
    this.o.log.info({}, 'aggregator stopped');
  }
}

/** Version k of an event as a record (its stored content, with the receivedAt of the message at hand). */
function parseVersion(history: EventHistory, k: number, incoming: WindowedRecord): WindowedRecord {
  return { ...(JSON.parse(history.payloads[k] ?? '{}') as WindowedRecord), receivedAt: incoming.receivedAt };
}

/** The last version with content (a retraction has none). */
function currentContent(history: EventHistory, incoming: WindowedRecord): WindowedRecord {
  const current = currentIndex(history);
  if (history.payloads[current] !== '') return parseVersion(history, current, incoming);
  for (let k = history.payloads.length - 1; k >= 0; k -= 1) {
    if (history.payloads[k] !== '') return parseVersion(history, k, incoming);
  }
  return incoming;
}
