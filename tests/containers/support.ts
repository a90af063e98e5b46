import { createServer } from 'node:net';
import {
  GenericContainer,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import { describe, it } from 'vitest';

/**
 * Real Kafka and ClickHouse in containers (testcontainers), for `npm run test:containers`.
 *
 * Opt-in: these tests run only with CXV_CONTAINER_TESTS=1, because they need a Docker
 * engine, which neither these development machines nor CI have (`docker` here is only a
 * client). Without the variable every suite reports as skipped with the reason (and fails
 * under CI=true: see containerSuiteOff); with it and
 * no reachable engine they FAIL, saying so — asking for them and not running them is an error.
 * They are not part of `npm test` (vitest.config.ts excludes tests/containers/).
 */

export const KAFKA_IMAGE = 'apache/kafka:3.9.1';
export const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:25.8';
export const CLICKHOUSE_PASSWORD = 'cxvitals-test-password';

export const CONTAINER_TESTS = process.env.CXV_CONTAINER_TESTS === '1';
export const SKIP_REASON =
  'container tests are opt-in: run `CXV_CONTAINER_TESTS=1 npm run test:containers` where a Docker engine is reachable (none is on these machines or in CI)';

/**
 * Registers what a suite does when the container tests were not asked for: skipped with the
 * reason on a developer machine, and a failing test under CI=true, so a CI that runs
 * `npm run test:containers` without an engine and the opt-in cannot pass by skipping.
 */
export function containerSuiteOff(name: string): void {
  if (CONTAINER_TESTS) return;
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  describe(name, () => {
    if (ci) {
      it('runs', () => {
        throw new Error(`CI=true and ${SKIP_REASON}; refusing to skip`);
      });
    } else it.skip(SKIP_REASON, () => {});
  });
}

/** Fails clearly when the tests were asked for but no engine answers. */
export async function requireDockerEngine(): Promise<string> {
  try {
    const client = await getContainerRuntimeClient();
    return client.info.containerRuntime.host;
  } catch (err) {
    throw new Error(
      `CXV_CONTAINER_TESTS=1 but no Docker engine is reachable (${(err as Error).message}). Start Docker (or set DOCKER_HOST), or unset CXV_CONTAINER_TESTS.`,
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * One-node Kafka in KRaft mode. The client-facing listener is advertised as host:port as
 * the test process sees it, so the port is chosen before the container starts.
 */
export async function startKafka(host: string): Promise<{ container: StartedTestContainer; brokers: string }> {
  const port = await freePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withExposedPorts({ container: 9092, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  return { container, brokers: `${host}:${port}` };
}

/** A single ClickHouse server with the user cxvitals. */
export async function startClickHouse(): Promise<{ container: StartedTestContainer; url: string }> {
  const container = await new GenericContainer(CLICKHOUSE_IMAGE)
    .withEnvironment({ CLICKHOUSE_USER: 'cxvitals', CLICKHOUSE_PASSWORD, CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1' })
    .withExposedPorts(8123)
    .withUlimits({ nofile: { soft: 262144, hard: 262144 } })
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
  return { container, url: `http://${container.getHost()}:${container.getMappedPort(8123)}` };
}

/**
 * A ClickHouse cluster `cx` of `shards` nodes (one replica each) on a Docker network:
 * Keeper runs embedded in the first node, every node has the {shard}/{replica} macros the
 * cluster-mode migrations use, and ON CLUSTER DDL goes through Keeper's task queue.
 */
export async function startClickHouseCluster(
  network: StartedNetwork,
  shards: number,
): Promise<{ containers: StartedTestContainer[]; url: string }> {
  const names = Array.from({ length: shards }, (_, i) => `ch${i + 1}`);
  const remoteServers = names
    .map(
      (name) =>
        `<shard><internal_replication>true</internal_replication><replica><host>${name}</host><port>9000</port><user>cxvitals</user><password>${CLICKHOUSE_PASSWORD}</password></replica></shard>`,
    )
    .join('');
  const config = (index: number) => `<clickhouse>
  <macros><shard>${String(index + 1).padStart(2, '0')}</shard><replica>${names[index]}</replica><cluster>cx</cluster></macros>
  <remote_servers><cx>${remoteServers}</cx></remote_servers>
  <zookeeper><node><host>ch1</host><port>9181</port></node></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  ${
    index === 0
      ? `<keeper_server><tcp_port>9181</tcp_port><server_id>1</server_id>
    <log_storage_path>/var/lib/clickhouse/coordination/log</log_storage_path>
    <snapshot_storage_path>/var/lib/clickhouse/coordination/snapshots</snapshot_storage_path>
    <raft_configuration><server><id>1</id><hostname>ch1</hostname><port>9234</port></server></raft_configuration>
  </keeper_server>`
      : ''
  }
</clickhouse>`;
  const containers: StartedTestContainer[] = [];
  for (const [index, name] of names.entries()) {
    containers.push(
      await new GenericContainer(CLICKHOUSE_IMAGE)
        .withNetwork(network)
        .withNetworkAliases(name)
        .withEnvironment({ CLICKHOUSE_USER: 'cxvitals', CLICKHOUSE_PASSWORD, CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1' })
        .withCopyContentToContainer([{ content: config(index), target: '/etc/clickhouse-server/config.d/cluster.xml' }])
        .withExposedPorts(8123)
        .withUlimits({ nofile: { soft: 262144, hard: 262144 } })
        .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
        .withStartupTimeout(120_000)
        .start(),
    );
  }
  const first = containers[0] as StartedTestContainer;
  return { containers, url: `http://${first.getHost()}:${first.getMappedPort(8123)}` };
}
