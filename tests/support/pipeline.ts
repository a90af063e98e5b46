import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Pipeline, type PipelineOverrides, startPipeline } from '../../services/app.ts';
import { demoIngestCredentials } from '../../services/ingest/auth.ts';
import { loadConfig } from '../../services/shared/config/config.ts';
import { createLogger } from '../../services/shared/log.ts';
import { readHeaders } from './auth.ts';

export { readHeaders, testReadToken } from './auth.ts';

/**
 * Starts the whole embedded pipeline in this process, tuned so windows close quickly;
 * `overrides` e.g. shortens the dashboard's intervals.
 */
export async function startTestPipeline(
  env: Record<string, string> = {},
  dataDir?: string,
  overrides: PipelineOverrides = {},
): Promise<Pipeline> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'cxv-test-')));
  const config = loadConfig({
    CXV_PORT: '0',
    CXV_DATA_DIR: dir,
    CXV_SIMULATE: '0',
    CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
    CXV_IDLE_PARTITION_MS: '1000',
    CXV_ALLOWED_LATENESS_MS: '60000',
    CXV_LOG_LEVEL: process.env.CXV_TEST_LOG_LEVEL ?? 'warn',
    ...env,
  });
  return startPipeline(config, createLogger(config.logLevel), { aggregatorFlushIntervalMs: 200, ...overrides });
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Waits until the aggregator has consumed every message produced to the bus (the /metrics
 * counters equal, and not zero): posts land apart, over partitions and topics, so a read
 * before that may see part of them. Returns the /metrics text it ended on.
 */
export function allConsumed(url: string, timeoutMs = 30_000): Promise<string> {
  return eventually(
    'the aggregator to consume every produced message',
    async () => {
      const text = await (await fetch(`${url}/metrics`, { headers: readHeaders() })).text();
      const produced = metricValue(text, 'cxv_bus_messages_produced_total');
      return produced > 0 && metricValue(text, 'cxv_bus_messages_consumed_total') === produced ? text : undefined;
    },
    timeoutMs,
  );
}

/**
 * The ingest token of the pipelines started here: with no CXV_INGEST_TOKENS, ingest
 * accepts the process's demo token, and the tests run in the same process.
 */
export const testIngestToken = (): string => demoIngestCredentials().token;

/** POSTs with the test ingest token unless `headers` says otherwise. */
export async function postJson(
  url: string,
  body: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = { authorization: `Bearer ${testIngestToken()}` },
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** GETs with the test read token unless `headers` says otherwise. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = readHeaders(),
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

/** Reads one sample from Prometheus text exposition. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
