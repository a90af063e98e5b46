import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import type { Pipeline, PipelineOverrides } from '../../services/app.ts';
import { testReadToken } from '../support/auth.ts';
import { startTestPipeline } from '../support/pipeline.ts';

/** A real Prometheus server (the Debian package) scraping an in-process cxvitals, for end-to-end alert tests. */

export const PROMETHEUS = '/usr/bin/prometheus';
export const hasPrometheus = (): boolean => existsSync(PROMETHEUS);

/** The embedded pipeline with test timings; `overrides` shortens the dashboard's intervals. */
export const startPipelineWith = (env: Record<string, string>, overrides: PipelineOverrides = {}): Promise<Pipeline> =>
  startTestPipeline(env, undefined, overrides);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The names of the alerts a rule file defines. */
export async function alertNames(rulesFile: string): Promise<string[]> {
  const doc = parse(await readFile(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> };
  return doc.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
}

/** The deployed rule file with every `for:` shortened, so pending → firing takes seconds. */
export async function rulesWithShortFor(rulesFile: string, forDuration: string): Promise<string> {
  const doc = parse(await readFile(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
  for (const group of doc.groups) for (const rule of group.rules) if (rule.for !== undefined) rule.for = forDuration;
  return stringify(doc, { lineWidth: 0 });
}

export interface PrometheusServer {
  url: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free loopback port, scraping `target` (host:port) every second with the given rules. */
export async function startPrometheus(target: string, rulesYaml: string): Promise<PrometheusServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-prometheus-'));
  await writeFile(path.join(dir, 'rules.yml'), rulesYaml);
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [path.join(dir, 'rules.yml')],
      // /metrics needs a read:metrics token (issue 15): Prometheus sends the test read token.
      scrape_configs: [
        {
          job_name: 'cxvitals',
          metrics_path: '/metrics',
          authorization: { type: 'Bearer', credentials: testReadToken() },
          static_configs: [{ targets: [target] }],
        },
      ],
    }),
  );
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`${url}/-/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return { url, dir, log: () => output, stop };
    await sleep(200);
  }
  await stop();
  throw new Error(`Prometheus did not become ready on ${url} within 30 s. Its output:\n${output}`);
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

export async function promAlerts(url: string): Promise<PromAlert[]> {
  const res = await fetch(`${url}/api/v1/alerts`);
  const body = (await res.json()) as { status: string; data: { alerts: PromAlert[] } };
  return body.data.alerts;
}

export async function promQuery(
  url: string,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`Prometheus query ${query} failed: ${body.error}`);
  return body.data.result;
}
