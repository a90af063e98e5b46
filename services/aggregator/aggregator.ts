import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Bus,
  type ConsumedMessage,
  type ConsumerHandle,
  DLQ_TOPIC,
  type TopicPartition,
  topicForSource,
} from '../shared/bus/bus.ts';
import type { MaintenanceWindow } from '../shared/kpi/availability.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import { codecFor, FINGERPRINT_HEADER } from '../shared/sources/avro.ts';
import type { MaintenanceRecord } from '../shared/sources/maintenance.ts';
import type { ProbeRecord } from '../shared/sources/probe.ts';
import type { SourceName } from '../shared/sources/registry.ts';
import type { Store } from '../shared/store/store.ts';
import { type AddOutcome, WindowEngine, type WindowEntry, windowStartOf } from './engine.ts';
import {
  PROBE_TABLE,
  type ProbeRow,
  type ProbeWindowState,
  probeFamily,
  probeKey,
  probeStateFromRow,
  splitProbeKey,
  toProbeRow,
} from './families/probe.ts';
import { MaintenanceRegistry } from './maintenance-registry.ts';

/**
 * The aggregator service: consumes the source topics, feeds the window engine, writes
 * due windows to ClickHouse and commits offsets only for what is written (the
 * protocol is described at the top of engine.ts). Batches and timer flushes run one
 * at a time; a failing store write is retried with backoff and holds the consumer,
 * which is the backpressure path.
 */

export const WINDOW_SIZE_MS = 60_000;
export const AGGREGATOR_GROUP = 'cxvitals-aggregator';

export interface AggregatorOptions {
  bus: Bus;
  store: Store;
  metrics: Metrics;
  log: Logger;
  windows: { outOfOrdernessMs: number; allowedLatenessMs: number; idlePartitionMs: number };
  /** Identifies the Kafka cluster incarnation whose offsets stored rows refer to. */
  busEpoch: string;
  groupId?: string;
  flushIntervalMs?: number;
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
  private consumer: ConsumerHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Serialises batches, flushes and rebalances. */
  private chain: Promise<unknown> = Promise.resolve();
  private pendingLate: LateRow[] = [];
  private pendingMaintenance: Array<Record<string, unknown>> = [];
  /** Newest window start already stored per probe key: windows after it need no store lookup. */
  private readonly storedUpTo = new Map<string, number>();
  private lastCommitted = new Map<string, number>();
  private stopping = false;
  private lastFlushAt = 0;
  private readonly topics = [topicForSource('probe'), topicForSource('maintenance')];

  constructor(private readonly o: AggregatorOptions) {
    this.now = o.now ?? Date.now;
    this.engine = new WindowEngine({ windowSizeMs: WINDOW_SIZE_MS, ...o.windows });
    this.engine.register(probeFamily);
  }

  get maintenance(): MaintenanceRegistry {
    return this.registry;
  }

  async start(): Promise<void> {
    await this.loadMaintenance();
    const stored = await this.o.store.query<{ service: string; region: string; last: string }>(
      `SELECT service, region, toUnixTimestamp64Milli(max(window_start)) AS last FROM ${this.o.store.table(PROBE_TABLE)} GROUP BY service, region`,
    );
    for (const r of stored) this.storedUpTo.set(probeKey(r.service, r.region), Number(r.last));
    await this.o.bus.ensureTopics([...this.topics, DLQ_TOPIC]);
    this.consumer = await this.o.bus.subscribe({
      groupId: this.o.groupId ?? AGGREGATOR_GROUP,
      topics: this.topics,
      fromBeginning: true,
      maxBatchSize: 5000,
      onBatch: (messages) => this.serial(() => this.handleBatch(messages)),
      onRevoke: (partitions) => this.serial(() => this.handleRevoke(partitions)),
    });
    const interval = this.o.flushIntervalMs ?? 1000;
    this.timer = setInterval(() => {
      if (this.now() - this.lastFlushAt >= interval) void this.serial(() => this.flush(false)).catch(() => {});
    }, interval);
    this.timer.unref();
    this.o.log.info({ topics: this.topics, maintenanceWindows: this.registry.size }, 'aggregator started');
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => {});
    return next;
  }

  private async loadMaintenance(): Promise<void> {
    const rows = await this.o.store.query<{
      maintenance_id: string;
      service: string;
      region: string;
      start_ms: string;
      end_ms: string;
      declared_ms: string;
      description: string;
    }>(
      `SELECT maintenance_id, service, region, toUnixTimestamp64Milli(start_at) AS start_ms,
              toUnixTimestamp64Milli(end_at) AS end_ms, toUnixTimestamp64Milli(declared_at) AS declared_ms, description
       FROM ${this.o.store.table('maintenance_windows')} FINAL`,
    );
    for (const r of rows) {
      this.registry.upsert({
        maintenanceId: r.maintenance_id,
        service: r.service,
        region: r.region === '' ? null : r.region,
        startMs: Number(r.start_ms),
        endMs: Number(r.end_ms),
        declaredAtMs: Number(r.declared_ms),
        description: r.description,
      });
    }
  }

  private async handleBatch(messages: ConsumedMessage[]): Promise<void> {
    const wallNow = this.now();
    const decoded: Array<{ message: ConsumedMessage; source: SourceName; record: Record<string, unknown> }> = [];
    for (const message of messages) {
      this.o.metrics.busConsumed.inc({ topic: message.topic });
      const source: SourceName = message.topic === this.topics[0] ? 'probe' : 'maintenance';
      this.o.metrics.aggregatorReceived.inc({ source });
      const codec = codecFor(source);
      const fingerprint = message.headers[FINGERPRINT_HEADER];
      try {
        if (fingerprint !== undefined && fingerprint !== codec.fingerprint) {
          throw new Error(`unknown writer schema fingerprint ${fingerprint}`);
        }
        decoded.push({ message, source, record: codec.decode(message.value) });
      } catch (err) {
        await this.deadLetter(message, source, `undecodable: ${(err as Error).message}`);
        this.engine.consumed(partitionId(message.topic, message.partition), message.offset, wallNow);
      }
    }
    await this.seedStoredWindows(decoded.filter((d) => d.source === 'probe').map((d) => d.record as unknown as ProbeRecord));
    for (const { message, source, record } of decoded) {
      const pid = partitionId(message.topic, message.partition);
      if (source === 'probe') {
        const probe = record as unknown as ProbeRecord;
        const outcome = this.engine.add(
          'probe',
          probeKey(probe.service, probe.region),
          probe.ts,
          pid,
          message.offset,
          probe,
          wallNow,
        );
        this.count('probe', outcome);
        if (outcome === 'too_late') {
          const watermark = this.engine.watermark(pid, wallNow);
          this.pendingLate.push({
            source: 'probe',
            event_id: probe.eventId,
            service: probe.service,
            region: probe.region,
            event_time: probe.ts,
            watermark,
            late_by_ms: watermark - (windowStartOf(probe.ts, WINDOW_SIZE_MS) + WINDOW_SIZE_MS),
            payload: JSON.stringify(probe),
          });
        }
      } else {
        this.applyMaintenance(record as unknown as MaintenanceRecord, pid, message.offset, wallNow);
      }
    }
    await this.flush(false);
  }

  private count(source: string, outcome: AddOutcome | 'dead_lettered'): void {
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
      description: m.description,
    };
    const { changed, replaced } = this.registry.upsert(window);
    this.count('maintenance', 'counted');
    if (!changed) return;
    this.pendingMaintenance.push({
      maintenance_id: m.maintenanceId,
      service: m.service,
      region: m.region ?? '',
      start_at: m.start,
      end_at: m.end,
      declared_at: m.declaredAt,
      retroactive: m.declaredAt > m.start ? 1 : 0,
      description: m.description ?? '',
      version: m.declaredAt * 1000 + (offset % 1000),
    });
    // Windows already in memory that the old or new declaration touches must be re-classified.
    const spans = [window, ...(replaced ? [replaced] : [])];
    this.engine.markDirty(
      (entry) =>
        entry.family === 'probe' &&
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
   * Before counting, install windows that are already stored but not in memory (after
   * a restart): their stored counts become the base, and redelivered messages they
   * already count are skipped.
   */
  private async seedStoredWindows(probes: ProbeRecord[]): Promise<void> {
    const wanted = new Map<string, Set<number>>();
    for (const p of probes) {
      const key = probeKey(p.service, p.region);
      const start = windowStartOf(p.ts, WINDOW_SIZE_MS);
      if ((this.storedUpTo.get(key) ?? Number.NEGATIVE_INFINITY) < start) continue;
      if (this.engine.has('probe', key, start)) continue;
      let set = wanted.get(key);
      if (!set) {
        set = new Set();
        wanted.set(key, set);
      }
      set.add(start);
    }
    for (const [key, starts] of wanted) {
      const { service, region } = splitProbeKey(key);
      const rows = await this.o.store.query<ProbeRow & { ws: string }>(
        `SELECT *, toUnixTimestamp64Milli(window_start) AS ws FROM ${this.o.store.table(PROBE_TABLE)} FINAL
         WHERE service = {service:String} AND region = {region:String}
           AND toUnixTimestamp64Milli(window_start) IN {starts:Array(Int64)}`,
        { service, region, starts: [...starts] },
      );
      for (const row of rows) {
        const counted = new Map<string, number>();
        if (row.bus_epoch === this.o.busEpoch && Number(row.source_partition) >= 0) {
          counted.set(partitionId(this.topics[0] ?? '', Number(row.source_partition)), Number(row.last_offset));
        }
        this.engine.seed('probe', key, Number(row.ws), probeStateFromRow(row), Number(row.version), counted);
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

  /** Writes due windows, late events and maintenance rows, then commits what is safe. */
  async flush(force: boolean): Promise<void> {
    const wallNow = this.now();
    this.lastFlushAt = wallNow;
    const due = this.engine.due(wallNow, force);
    if (due.length > 0) {
      const versions = due.map(() => this.engine.nextVersion(wallNow));
      const rows = due.map((entry, i) => this.rowFor(entry, versions[i] ?? 0));
      await this.write(PROBE_TABLE, rows);
      this.engine.markWritten(due, versions);
      for (const row of rows) {
        const key = probeKey(row.service, row.region);
        this.storedUpTo.set(key, Math.max(this.storedUpTo.get(key) ?? Number.NEGATIVE_INFINITY, row.window_start));
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
    await this.commit();
  }

  private rowFor(entry: WindowEntry, version: number): ProbeRow {
    const probePartitions = [...entry.lastOffset.entries()].filter(([p]) => p.startsWith(`${this.topics[0]}:`));
    const single = probePartitions.length === 1 ? probePartitions[0] : undefined;
    return toProbeRow(entry.state as ProbeWindowState, entry.windowStart, this.registry, {
      version,
      busEpoch: this.o.busEpoch,
      partition: single ? parsePartitionId(single[0]).partition : -1,
      lastOffset: single ? single[1] : -1,
    });
  }

  private async write(table: string, rows: readonly object[]): Promise<void> {
    await this.retry(table, async () => {
      const end = this.o.metrics.storeInsertSeconds.startTimer({ table });
      await this.o.store.insert(table, rows);
      end();
    });
    if (table === PROBE_TABLE) this.o.metrics.windowsWritten.inc({ table }, rows.length);
  }

  /** Retries until it works: a lost write would break the exactly-once effect. Gives up only when stopping. */
  private async retry(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let n = 0; ; n += 1) {
      try {
        await attempt();
        return;
      } catch (err) {
        if (what !== 'dlq') this.o.metrics.storeWriteFailures.inc({ table: what });
        const delay = Math.min(30_000, 200 * 2 ** Math.min(n, 8));
        this.o.log.error({ err, what, attempt: n + 1, retryInMs: delay }, 'write failed; retrying (consumption is paused)');
        if (this.stopping && n >= 3) throw err;
        await sleep(delay);
      }
    }
  }

  private async commit(): Promise<void> {
    if (!this.consumer) return;
    const offsets = [];
    for (const [pid, offset] of this.engine.commitSafeOffsets()) {
      if (this.lastCommitted.get(pid) === offset || offset <= 0) continue;
      offsets.push({ ...parsePartitionId(pid), offset });
    }
    if (offsets.length === 0) return;
    await this.consumer.commit(offsets);
    for (const o of offsets) this.lastCommitted.set(partitionId(o.topic, o.partition), o.offset);
  }

  private async handleRevoke(partitions: TopicPartition[]): Promise<void> {
    await this.flush(true);
    this.engine.release(partitions.map((p) => partitionId(p.topic, p.partition)));
    for (const p of partitions) this.lastCommitted.delete(partitionId(p.topic, p.partition));
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

  /** Ordered stop: flush every open window (partial windows are completed after a restart), commit, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.drain(10_000);
    await this.serial(() => this.flush(true));
    await this.consumer?.close();
    this.o.log.info({}, 'aggregator stopped');
  }
}
