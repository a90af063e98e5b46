import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../lib/worker-host.ts';

/** Where the figures were taken: they mean little without the machine, the versions and the commit. */

export interface Machine {
  date: string;
  host: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  loadAverage: number[];
  os: string;
  node: string;
  commit: string;
  dirty: boolean;
  librdkafka: string;
  versions: Record<string, string>;
}

const git = (args: string[]): string => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

const versionOf = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
};

export async function describeMachine(): Promise<Machine> {
  const rdkafka = (await import('node-rdkafka')).default as unknown as { librdkafkaVersion?: string };
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain']) !== '',
    librdkafka: rdkafka.librdkafkaVersion ?? 'unknown',
    versions: Object.fromEntries(
      ['node-rdkafka', 'kafkajs', 'chdb', '@clickhouse/client', 'avsc', 'fastify', 'zod'].map((p) => [p, versionOf(p)]),
    ),
  };
}
