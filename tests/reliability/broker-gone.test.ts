import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../services/shared/log.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { eventually } from '../support/pipeline.ts';
import { type BrokerProcess, startBrokerProcess } from './support/broker.ts';
import { aggregatorCaughtUp } from './support/caught-up.ts';
import { INGEST_TOKEN, type RoleProcess, startRole } from './support/cluster.ts';
import { count, recordFigures } from './support/figures.ts';
import { Sender } from './support/sender.ts';
import { compareWithStore, KnownStream, toBodies } from './support/stream.ts';

/**
 * The broker unreachable for 30 s while senders keep posting, with ingest and the
 * aggregator in processes of their own as in production (see support/broker.ts for why
 * "unreachable" is a frozen broker process rather than a killed one). Ingest must answer
 * 503 with Retry-After — never accept what Kafka did not acknowledge — and everything
 * must resume by itself once the broker is back, with no restart: every acknowledged
 * event stored exactly once. The same again with every service in one process
 * (`cxvitals all`, what `npm start` runs): there nothing may block the JavaScript thread
 * while the broker does not answer, or ingest stops answering altogether.
 */

const OUTAGE_MS = 30_000;

const processes: Array<{ stop(): Promise<unknown> }> = [];
let broker: BrokerProcess | undefined;
afterAll(async () => {
  broker?.thaw();
  for (const p of processes.reverse()) await p.stop().catch(() => {});
});

const TOPOLOGIES = [
  { name: 'ingest and aggregator in their own processes', oneProcess: false },
  { name: 'every service in one process', oneProcess: true },
];

describe.each(TOPOLOGIES)('the broker gone for 30 s, $name', ({ name, oneProcess }) => {
  it('ingest answers 503 with Retry-After, nothing acknowledged is lost, and the pipeline resumes by itself', async ({
    task,
  }) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-rel-broker-'));
    broker = await startBrokerProcess(dir);
    processes.push(broker);
    const env = { KAFKA_BROKERS: broker.brokers, CXV_INGEST_PRODUCE_TIMEOUT_MS: '3000', CXV_ALLOWED_LATENESS_MS: '300000' };
    const aggregator: RoleProcess = await startRole(oneProcess ? 'all' : 'aggregator', dir, env);
    processes.push(aggregator);
    const ingest: RoleProcess = oneProcess ? aggregator : await startRole('ingest', dir, env);
    if (!oneProcess) processes.push(ingest);
    const sender = new Sender(ingest.url, INGEST_TOKEN);
    const prefix = oneProcess ? 'bg1' : 'bg';
    const stream = new KnownStream(prefix, 4242);

    let sending = true;
    const senders = Array.from({ length: 2 }, async () => {
      while (sending) {
        const batch = stream.next(40, () => Date.now());
        for (const { source, body } of toBodies(batch)) await sender.deliver(source, body);
        await sleep(100);
      }
    });

    await sleep(6_000);
    const healthBefore = (await fetch(`${ingest.url}/healthz`)).status;
    broker.freeze();
    const frozenAt = Date.now();
    await sleep(OUTAGE_MS / 2);
    const healthDuring = await fetch(`${ingest.url}/healthz`, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.status)
      .catch(() => 0);
    await sleep(frozenAt + OUTAGE_MS - Date.now());
    broker.thaw();
    const thawedAt = Date.now();
    const acceptedAgainAt = await eventually(
      'ingest to accept again',
      async () => sender.answers.find((a) => a.at > thawedAt && a.status === 200)?.at,
      120_000,
    ).catch(() => Number.NaN);
    await sleep(5_000);
    sending = false;
    await Promise.all(senders);
    sender.close();
    const caughtUp = await aggregatorCaughtUp(aggregator.url, 120_000);
    const exitCode = await aggregator.stop();

    const store = await openStore({
      mode: 'embedded',
      dataDir: path.join(dir, oneProcess ? 'data-all' : 'data-aggregator'),
      database: 'cxvitals',
      log: silentLogger,
    });
    const settled = await compareWithStore(store, stream, prefix).finally(() => store.close());
    const outage = sender.answers.filter((a) => a.at >= frozenAt && a.at <= thawedAt);
    const unavailable = sender.answers.filter((a) => a.status === 503);
    const serverErrors = sender.answers.filter((a) => a.status >= 500 && a.status !== 503);
    const outageCount = (status: number) => count(outage.filter((a) => a.status === status).length);
    recordFigures(task, {
      scenario: oneProcess ? 'broker unreachable for 30 s, all services in one process' : 'broker unreachable for 30 s',
      load: `${count(stream.events)} events posted over HTTP by 2 senders (~800/s), resent after 503 as told`,
      faults: `broker process frozen (SIGSTOP) for ${OUTAGE_MS / 1000} s, then resumed (SIGCONT); ${name}`,
      lost: settled.lost,
      duplicated: settled.duplicated,
      notes: [
        `answers during the outage: ${outageCount(503)} × 503, ${outageCount(200)} × 200, ${outageCount(429)} × 429, ${outageCount(0)} × no answer; every 503 with Retry-After: ${unavailable.every((a) => a.retryAfter !== undefined)}`,
        `ingest /healthz ${healthBefore} before, ${healthDuring} during`,
        `ingest accepted again ${((acceptedAgainAt - thawedAt) / 1000).toFixed(1)} s after the broker came back; aggregator caught up by itself: ${caughtUp}`,
      ],
    });

    expect(serverErrors.map((a) => a.status)).toEqual([]);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(unavailable.every((a) => a.retryAfter !== undefined && Number(a.retryAfter) > 0)).toBe(true);
    expect(healthDuring).toBe(503);
    expect(Number.isFinite(acceptedAgainAt)).toBe(true);
    expect(caughtUp).toBe(true);
    expect(exitCode).toBe(0);
    expect(settled.mismatches).toEqual([]);
    expect(settled.lost).toBe(0);
    expect(settled.duplicated).toBe(0);
  });
});
