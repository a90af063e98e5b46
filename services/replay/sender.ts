/**
 * Posts one batch of events to the ingest endpoint as NDJSON and tells what became of
 * it. Ingest's contract (README, "Sending events"): 200 all accepted; 400 with per-event
 * errors while the valid events of the same body ARE accepted (never resend those);
 * 429/503 with Retry-After when Kafka is slow or down (nothing accepted: resend the body).
 * Resending is safe because events carry deterministic ids.
 */

export interface EventError {
  index: number;
  field: string;
  code: string;
  message: string;
}

export type PostResult =
  | {
      kind: 'answered';
      accepted: number;
      rejected: number;
      errors: EventError[];
      retries: number;
      /** Of accepted, when the server says (docs/corrections.md). */
      corrected?: number;
      duplicate?: number;
    }
  | { kind: 'failed'; status?: number; message: string; retries: number };

export interface SenderOptions {
  url: string;
  source: string;
  token?: string | undefined;
  /** Send through the history path (`?backfill=true`): windows follow the file's own clock. */
  backfill: boolean;
  /** Retries of one batch after 429/503/5xx or a network error, before giving up. */
  maxRetries: number;
  /** Upper bound of one wait, whatever Retry-After asks. */
  maxRetryWaitMs: number;
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: { attempt: number; waitMs: number; why: string }) => void;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

export function endpointFor(url: string, source: string, backfill: boolean): string {
  const base = url.replace(/\/+$/, '');
  return `${base}/api/v1/events/${encodeURIComponent(source)}${backfill ? '?backfill=true' : ''}`;
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const backoffMs = (attempt: number): number => Math.min(30_000, 500 * 2 ** attempt);

interface IngestAnswer {
  accepted: number;
  rejected: number;
  errors: EventError[];
  corrected?: number;
  duplicate?: number;
}

function asIngestAnswer(body: unknown): IngestAnswer | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.accepted !== 'number' || typeof b.rejected !== 'number') return undefined;
  return {
    accepted: b.accepted,
    rejected: b.rejected,
    errors: Array.isArray(b.errors) ? (b.errors as EventError[]) : [],
    ...(typeof b.corrected === 'number' ? { corrected: b.corrected } : {}),
    ...(typeof b.duplicate === 'number' ? { duplicate: b.duplicate } : {}),
  };
}

function failure(status: number, body: unknown, o: SenderOptions, batchSize: number): string {
  const b = (body ?? {}) as { code?: string; message?: string };
  const message = b.message?.replace(/\.+$/, '');
  const said = message ? ` — the server said: ${b.code ? `${b.code}: ` : ''}${message}` : '';
  switch (status) {
    case 401:
      return o.token
        ? `the server did not accept the token (401)${said}. Check --token / CXV_TOKEN: it must be an ingest token of this server.`
        : `the server wants a token (401)${said}. Pass --token or set CXV_TOKEN to an ingest token for "${o.source}".`;
    case 403:
      return `the token was refused for source "${o.source}" (403)${said}. Use a token issued for this source.`;
    case 404:
      return `the server has no source "${o.source}" (404)${said}. Check --source, or declare the source on that server.`;
    case 413:
      return `a batch of ${batchSize} events is too large for the server (413)${said}. Use a smaller --batch.`;
    case 415:
      return `the server refused NDJSON (415)${said}. Is ${o.url} a cxvitals server?`;
    case 400:
      return o.backfill
        ? `the server refused the request as a whole (400)${said}. If it does not know ?backfill=true yet, rerun with --no-backfill (old events may then count as late).`
        : `the server refused the request as a whole (400)${said}.`;
    default:
      return `the server answered ${status}${said}.`;
  }
}

export function createSender(o: SenderOptions): { post(events: readonly object[]): Promise<PostResult> } {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const endpoint = endpointFor(o.url, o.source, o.backfill);
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', accept: 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;

  return {
    async post(events) {
      const body = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
      for (let attempt = 0; ; attempt += 1) {
        let why: string;
        let wait: number | undefined;
        try {
          const res = await doFetch(endpoint, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(o.requestTimeoutMs ?? 120_000),
          });
          const text = await res.text();
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = { message: text.slice(0, 200) };
          }
          const answer = asIngestAnswer(parsed);
          if ((res.status === 200 || res.status === 400) && answer) return { kind: 'answered', ...answer, retries: attempt };
          if (!RETRYABLE.has(res.status)) {
            return {
              kind: 'failed',
              status: res.status,
              message: failure(res.status, parsed, o, events.length),
              retries: attempt,
            };
          }
          why = `the server answered ${res.status}`;
          wait = retryAfterMs(res.headers.get('retry-after'));
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          const detail = cause?.code ?? cause?.message ?? (err as Error).message;
          why = `could not reach ${o.url} (${detail})`;
        }
        if (attempt >= o.maxRetries) {
          return {
            kind: 'failed',
            message: `${why}; gave up after ${attempt + 1} attempt(s). Is cxvitals running at ${o.url}? Resend later (the same ids do not count twice).`,
            retries: attempt,
          };
        }
        const waitMs = Math.min(o.maxRetryWaitMs, wait ?? backoffMs(attempt));
        o.onRetry?.({ attempt: attempt + 1, waitMs, why });
        await sleep(waitMs);
      }
    },
  };
}
