/**
 * Embedded Kafka: librdkafka's built-in mock cluster, started in-process through
 * node-rdkafka. A client created with `test.mock.num.brokers: N` makes librdkafka spin up
 * N mock brokers on 127.0.0.1 (random ports) and point that client at them; we read the
 * brokers' addresses back from the client's metadata and hand them out as the bootstrap
 * address, so both bus implementations (rdkafka and kafkajs) talk to the mock over real
 * TCP exactly as they would to a real cluster. The mock lives as long as the holder
 * client: `stop()` disconnects it and the brokers vanish.
 *
 * What the mock (librdkafka 2.12.0 inside node-rdkafka 3.6) does — verified by
 * tests/bus/*.test.ts and by reading rdkafka_mock*.c, not assumed:
 *  - Topics are auto-created on first Metadata/Produce with 4 partitions, replication
 *    factor min(3, brokers). The count is fixed: the mock's C API to change it is not
 *    exposed by node-rdkafka, and the mock has no CreateTopics handler, so neither
 *    node-rdkafka's AdminClient.createTopic nor kafkajs `admin.createTopics` work.
 *    Handlers that exist: Produce, Fetch, ListOffsets, OffsetFetch, OffsetCommit,
 *    ApiVersions, Metadata, FindCoordinator, InitProducerId, JoinGroup, Heartbeat,
 *    LeaveGroup, SyncGroup, the transaction APIs, OffsetForLeaderEpoch, KIP-848
 *    ConsumerGroupHeartbeat. No DescribeGroups/ListGroups/DeleteTopics/DescribeConfigs.
 *  - Produce with acks=all works with both clients; keys, values, headers and offsets
 *    round-trip. librdkafka's idempotent producer works (InitProducerId → PID acquired).
 *    kafkajs `idempotent: true` does not: kafkajs sends InitProducerId to the controller,
 *    the mock advertises controller id 0, which is no broker (brokers are 1..N) → "Broker
 *    0 not found in the cached metadata"; the kafkajs bus falls back to non-idempotent.
 *  - Classic consumer groups work with both clients: JoinGroup/SyncGroup/Heartbeat,
 *    OffsetCommit/OffsetFetch; explicit commits survive a consumer restart in the same
 *    group and the next member resumes exactly at the committed offsets. A second member
 *    joining makes the group rebalance and the 4 partitions split 2/2 (both clients).
 *  - Timing: the first join of a group waits 3 s (the mock's
 *    group.initial.rebalance.delay); a member joining a stable group makes the mock wait
 *    session.timeout.ms − 1 s for the others to re-join. Use a short session timeout
 *    (tests: 3 s) to keep rebalances quick.
 *  - LeaveGroup: librdkafka leaves properly. kafkajs sends LeaveGroup v3 (KIP-345
 *    member list); the mock advertises v0–v4 but reads every request with the v0–v2
 *    layout (one member id), so the leave is rejected and its response does not parse in kafkajs
 *    ("offset out of range", logged; `disconnect()` still resolves). The departed kafkajs
 *    member therefore lingers until its session times out: the next member of that group
 *    gets its partitions only after ≈ session timeout + rebalance delay (≈ 5.5 s with a
 *    3 s session, ≈ 11 s with 6 s).
 *  - While the group is re-joining the mock answers OffsetCommit with
 *    REBALANCE_IN_PROGRESS (a real broker accepts commits of the current generation while
 *    it prepares a rebalance). So commits made from onRevoke *during a rebalance* fail
 *    against the mock with both clients; commits from onRevoke on close() work.
 */

import type { Metadata, ProducerGlobalConfig } from 'node-rdkafka';
import Kafka from 'node-rdkafka';
import { BusError } from './bus.ts';
import type { BusLogger } from './options.ts';

export interface EmbeddedKafka {
  /** Comma-separated `127.0.0.1:port` list of the mock brokers. */
  bootstrapServers: string;
  /** Shuts the mock cluster down. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedKafkaOptions {
  brokers: number;
  log: BusLogger;
  /** Default 10 000 ms. */
  startTimeoutMs?: number;
}

export const startEmbeddedKafka = async (options: EmbeddedKafkaOptions): Promise<EmbeddedKafka> => {
  const { log } = options;
  const brokerCount = Math.max(1, Math.floor(options.brokers));
  const timeout = options.startTimeoutMs ?? 10_000;
  const conf = {
    'client.id': 'cxvitals-embedded-kafka',
    // Overridden by the mock, but librdkafka wants something here.
    'bootstrap.servers': 'embedded-mock:9092',
    'test.mock.num.brokers': brokerCount,
    'log.connection.close': false,
  } as unknown as ProducerGlobalConfig;
  const holder = new Kafka.Producer(conf, {});
  holder.on('event.error', (err) => log.debug?.({ err: err.message }, 'embedded kafka holder client error'));

  const metadata = await new Promise<Metadata>((resolve, reject) => {
    holder.connect({ timeout, allTopics: false }, (err, md) => {
      if (err) reject(new BusError('BUS_UNAVAILABLE', `embedded kafka did not start: ${err.message}`, { cause: err }));
      else resolve(md);
    });
  });
  const brokers = [...metadata.brokers].sort((a, b) => a.id - b.id);
  if (brokers.length !== brokerCount) {
    log.warn({ expected: brokerCount, got: brokers.length }, 'embedded kafka: unexpected broker count');
  }
  const bootstrapServers = brokers.map((b) => `${b.host}:${b.port}`).join(',');
  log.info({ bootstrapServers, brokers: brokers.length }, 'embedded kafka (librdkafka mock cluster) started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      if (!holder.isConnected()) {
        resolve();
        return;
      }
      holder.disconnect(5_000, () => {
        log.info({ bootstrapServers }, 'embedded kafka stopped');
        resolve();
      });
    });
    return stopping;
  };
  return { bootstrapServers, stop };
};
