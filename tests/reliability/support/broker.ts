import path from 'node:path';
import { type CliProcess, spawnCli } from '../../support/processes.ts';

/**
 * The embedded broker (`cxvitals broker`, librdkafka's mock cluster) as a process of its
 * own, so a scenario can make it unreachable: SIGSTOP freezes it — connections stay open
 * and nothing answers, like a broker behind a network partition — and SIGCONT brings it
 * back with its topics, offsets and data intact. Killing it instead would lose
 * everything (the mock keeps data in memory only), which is a different failure from
 * "the broker is gone for 30 s".
 */
export interface BrokerProcess {
  brokers: string;
  process: CliProcess;
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startBrokerProcess(dir: string): Promise<BrokerProcess> {
  const broker = spawnCli(['broker'], {}, path.join(dir, 'broker.log'));
  const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
  return {
    brokers,
    process: broker,
    freeze: () => broker.child.kill('SIGSTOP'),
    thaw: () => broker.child.kill('SIGCONT'),
    async stop() {
      if (broker.child.exitCode !== null) return;
      broker.child.kill('SIGCONT');
      broker.child.kill('SIGTERM');
      await Promise.race([broker.exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (broker.child.exitCode === null) broker.child.kill('SIGKILL');
    },
  };
}
