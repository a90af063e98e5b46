import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An HTTP load generator for the ingest edge: pre-serialised NDJSON bodies posted over
 * keep-alive connections, `concurrency` requests in flight, optionally paced to a rate
 * of events per second. A 429 or 503 is honoured as the API asks (wait Retry-After,
 * resend the same body), so "accepted" means acknowledged by Kafka.
 */

export interface LoadBody {
  source: string;
  body: string;
  count: number;
}

export interface LoadResult {
  events: number;
  accepted: number;
  requests: number;
  statuses: Record<string, number>;
  /** Latency of each answered request, ms (resends count as their own requests). */
  latenciesMs: number[];
  /** Per accepted body: when it was sent and answered (ms since the load started). */
  timeline: Array<{ sentAt: number; doneAt: number; count: number }>;
  wallMs: number;
}

export interface PostAnswer {
  status: number;
  retryAfterSec: number;
  text: string;
}

export function poster(baseUrl: string, token: string, concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(baseUrl);
  const post = (path: string, body: string, contentType = 'application/x-ndjson'): Promise<PostAnswer> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          headers: { 'content-type': contentType, authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfterSec: Number(res.headers['retry-after'] ?? 0),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

export async function drive(
  baseUrl: string,
  token: string,
  bodies: readonly LoadBody[],
  options: { concurrency: number; eventsPerSec?: number; maxRetryWaitMs?: number },
): Promise<LoadResult> {
  const { post, close } = poster(baseUrl, token, options.concurrency);
  const result: LoadResult = { events: 0, accepted: 0, requests: 0, statuses: {}, latenciesMs: [], timeline: [], wallMs: 0 };
  const started = performance.now();
  let next = 0;
  let scheduled = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      if (!body) break;
      if (options.eventsPerSec) {
        // Pace by events: this body may leave once the events before it fit the rate.
        const due = started + (scheduled / options.eventsPerSec) * 1000;
        scheduled += body.count;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      result.events += body.count;
      for (;;) {
        const sentAt = performance.now();
        const answer = await post(`/api/v1/events/${body.source}`, body.body).catch(() => ({
          status: 0,
          retryAfterSec: 1,
          text: '',
        }));
        const doneAt = performance.now();
        result.requests += 1;
        result.latenciesMs.push(doneAt - sentAt);
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        if (answer.status === 200) {
          result.accepted += body.count;
          result.timeline.push({ sentAt: sentAt - started, doneAt: doneAt - started, count: body.count });
          break;
        }
        if (answer.status !== 429 && answer.status !== 503 && answer.status !== 0) {
          throw new Error(`ingest answered ${answer.status}: ${answer.text.slice(0, 300)}`);
        }
        await sleep(Math.min(options.maxRetryWaitMs ?? 5_000, Math.max(100, answer.retryAfterSec * 1000)));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  result.wallMs = performance.now() - started;
  close();
  return result;
}
