import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './worker-host.ts';

/**
 * The embedded Kafka (librdkafka's mock cluster) in a process of its own, `cxvitals
 * broker`: whatever a client costs is measured in the client's process, never mixed
 * with the broker's work.
 */

export interface BrokerProcess {
  brokers: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startBroker(timeoutMs = 30_000): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/cli/main.ts'), 'broker'], {
    cwd: ROOT,
    env: { ...process.env, CXV_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const brokers = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the broker did not start in time')), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /KAFKA_BROKERS=(\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`the broker exited with ${code}`)));
  });
  return {
    brokers,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
