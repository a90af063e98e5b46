import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { topicForSource } from '../../services/shared/bus/bus.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { SOURCES } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import { startChdbHttp } from '../../services/shared/store/chdb-http.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';

/**
 * A measurement program (not a test) behind docs/sizing.md, until `npm run bench` publishes
 * figures: how many probe events per second `cxvitals aggregator` processes turn into stored
 * windows, on this machine, with the multi-process setup of scale-out.test.ts (standalone
 * embedded broker, chDB behind the tests-only HTTP front).
 *
 *   npx tsx tests/multiprocess/measure-aggregator.ts [events=200000] [instances=1,2]
 *
 * The events are produced before any aggregator starts, so the figure is consumption +
 * windowing + ClickHouse writes (including the consumer group's join), timed from the moment
 * every instance answers /healthz to the last event stored.
 */

const EVENTS = Number(process.argv[2] ?? 200_000);
const INSTANCES = (process.argv[3] ?? '1,2').split(',').map(Number);
const KEYS = 64;

/** CPU seconds (user + system) a child process used so far, from /proc (Linux). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

interface Measurement {
  seconds: number;
  startupSeconds: number;
  eventsPerSecond: number;
  /** Aggregator CPU (all instances, start-up included) per 1000 events. */
  aggregatorCpuMsPer1000: number;
  /** CPU of the store (chDB behind the HTTP front, in this process) per 1000 events. */
  storeCpuMsPer1000: number;
  /** Compressed bytes on disk per event, per table. */
  bytesPerEvent: Record<string, number>;
}

async function measure(instances: number): Promise<Measurement> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-measure-'));
  const logFile = path.join(dir, 'processes.log');
  const front = await startChdbHttp({ dataDir: path.join(dir, 'chdb') });
  const children: CliProcess[] = [];
  try {
    const broker = spawnCli(['broker'], {}, logFile);
    children.push(broker);
    const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
    const bus = createBus({ kind: 'rdkafka', brokers, clientId: 'measure', log: silentLogger });
    const definition = SOURCES.probe as unknown as SourceDefinition<unknown, object>;
    const codec = codecFor('probe');
    const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
    const startMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 6 * 3_600_000;
    for (let offset = 0; offset < EVENTS; offset += 5000) {
      const batch = [];
      for (let i = offset; i < Math.min(EVENTS, offset + 5000); i += 1) {
        const record = definition.toRecord(
          definition.input.parse({
            eventId: `m-${i}`,
            ts: startMs + Math.floor((i / EVENTS) * 5 * 3_600_000),
            service: `svc-${i % 8}`,
            region: `reg-${Math.floor(i / 8) % (KEYS / 8)}`,
            probeId: 'p',
            probeType: 'agent',
            attempts: 10,
            successes: 9,
            latencyMs: 20 + (i % 50),
          }),
          Date.now(),
        );
        batch.push({ key: definition.partitionKey(record), value: codec.encode(record), headers });
      }
      await bus.produce(topicForSource('probe'), batch);
    }
    await bus.close();

    const env = {
      KAFKA_BROKERS: brokers,
      CLICKHOUSE_URL: front.url,
      CXV_PORT: '0',
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
    };
    const provision = spawnCli(['provision', '--skip-topics'], env, logFile);
    await provision.exited;
    const spawned = Date.now();
    const aggregators: CliProcess[] = [];
    await Promise.all(
      Array.from({ length: instances }, async () => {
        const p = spawnCli(['aggregator'], env, logFile);
        children.push(p);
        aggregators.push(p);
        await p.waitFor(/health\s+(http:\/\/\S+)\/healthz/);
      }),
    );
    const storeCpuBefore = process.cpuUsage();
    // Timed from the moment every instance serves /healthz: process start-up is not throughput.
    const started = Date.now();
    const startupSeconds = (started - spawned) / 1000;
    const store = await openStore({ mode: 'external', url: front.url, database: 'cxvitals', log: silentLogger });
    let measured = 0;
    let bytesPerEvent: Record<string, number> = {};
    try {
      for (;;) {
        const [row] = await store.query<{ n: string }>(`SELECT sum(samples) AS n FROM ${store.table('probe_kpi_1m')} FINAL`);
        if (Number(row?.n ?? 0) >= EVENTS) break;
        await sleep(250);
      }
      measured = Date.now();
      const parts = await store.query<{ table: string; bytes: string }>(
        `SELECT table, sum(data_compressed_bytes) AS bytes FROM system.parts
         WHERE database = 'cxvitals' AND active AND table IN ('raw_events', 'probe_kpi_1m', 'kpi_1m') GROUP BY table`,
      );
      bytesPerEvent = Object.fromEntries(parts.map((p) => [p.table, Math.round((Number(p.bytes) / EVENTS) * 10) / 10]));
    } finally {
      await store.close();
    }
    const seconds = (measured - started) / 1000;
    const storeCpu = process.cpuUsage(storeCpuBefore);
    let aggregatorCpu = 0;
    for (const p of aggregators) aggregatorCpu += await cpuSeconds(p.child.pid);
    return {
      seconds,
      startupSeconds,
      eventsPerSecond: Math.round(EVENTS / seconds),
      aggregatorCpuMsPer1000: Math.round((aggregatorCpu * 1000 * 1000) / EVENTS),
      storeCpuMsPer1000: Math.round(((storeCpu.user + storeCpu.system) / 1000) * (1000 / EVENTS)),
      bytesPerEvent,
    };
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await front.close();
  }
}

process.stdout.write(`cxvitals aggregator throughput, ${EVENTS} probe events over ${KEYS} keys, ${os.cpus().length} cores\n`);
let baseline: number | undefined;
for (const n of INSTANCES) {
  const r = await measure(n);
  baseline ??= r.eventsPerSecond;
  process.stdout.write(
    `  ${n} instance(s): ${r.eventsPerSecond} events/s (${(r.eventsPerSecond / baseline).toFixed(2)}× the first run): ${r.seconds.toFixed(1)} s to store every event, after ${r.startupSeconds.toFixed(1)} s of process start-up; CPU per 1000 events: aggregators ${r.aggregatorCpuMsPer1000} ms, store ${r.storeCpuMsPer1000} ms; stored bytes per event ${JSON.stringify(r.bytesPerEvent)}\n`,
  );
}
process.exit(0);
