import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A well-behaved ingest client: keep-alive connections, and on 429 or 503 it waits
 * Retry-After and resends the same body (the API's contract: nothing of that body was
 * accepted; eventIds dedupe a resend whose first attempt landed after all). Records
 * every answer, so a scenario can report what the edge said under its fault.
 */

export interface Answer {
  status: number;
  retryAfter: string | undefined;
  ms: number;
  at: number;
}

export class Sender {
  readonly answers: Answer[] = [];
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly token: string,
    concurrency = 4,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    this.url = new URL(baseUrl);
  }

  post(source: string, body: string): Promise<Answer & { text: string }> {
    const started = performance.now();
    return new Promise((resolve) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          path: `/api/v1/events/${source}`,
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${this.token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const answer = {
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'] as string | undefined,
              ms: performance.now() - started,
              at: Date.now(),
            };
            this.answers.push(answer);
            resolve({ ...answer, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      // A connection error is an answer too (status 0): the client retries it like a 503.
      req.on('error', () => {
        const answer = { status: 0, retryAfter: undefined, ms: performance.now() - started, at: Date.now() };
        this.answers.push(answer);
        resolve({ ...answer, text: '' });
      });
      req.end(body);
    });
  }

  /** Posts until the body is accepted (200), honouring Retry-After. Throws on any other answer. */
  async deliver(source: string, body: string, maxWaitMs = 10_000): Promise<void> {
    for (;;) {
      const answer = await this.post(source, body);
      if (answer.status === 200) return;
      if (answer.status !== 429 && answer.status !== 503 && answer.status !== 0) {
        throw new Error(`ingest answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      }
      await sleep(Math.min(maxWaitMs, Math.max(200, Number(answer.retryAfter ?? 1) * 1000)));
    }
  }

  count(status: number): number {
    return this.answers.filter((a) => a.status === status).length;
  }

  close(): void {
    this.agent.destroy();
  }
}
