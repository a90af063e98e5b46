import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import pLimit, { type LimitFunction } from 'p-limit';
import { mapInSlices } from '../shared/vitals/slices.ts';
import { HttpError } from './errors.ts';

/**
 * What one read may cost, and how many run at once (issue 15, finding 2: one
 * `GET /api/v1/csi` over 9,999 one-minute buckets took 3.2 s and 45 MB of JSON; eight
 * at once held /livez for 8.9 s).
 *
 * - Cost: a read computes buckets × series cells (a series is one scored line: the
 *   plain CSI and one per segment for the value-weighted CSI, one for a KPI or KQI
 *   read). Past `maxCells` it is a 400 READ_TOO_LARGE naming the limit and a step or
 *   range that fits, before anything is read.
 * - Response size: a body past `maxResponseBytes` is replaced by a 400 of the same
 *   code (raw events carry free text; a bucket count does not bound their size).
 * - Concurrency: reads take a slot per client address and one of the process's, held
 *   until the answer is sent (serialising is part of the cost). A client with
 *   `perClientQueue` reads already waiting gets 429 with Retry-After. Ingest and the
 *   health routes never wait for a slot, so they answer between read slices.
 */

export interface ReadLimitSettings {
  /** Buckets × series one read may compute (CXV_READ_MAX_CELLS). */
  maxCells: number;
  /** Largest read answer in bytes (CXV_READ_MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  /** Reads computed at once in this process (CXV_READ_CONCURRENCY). */
  concurrency: number;
  /** Reads computed at once for one client address (CXV_READ_CONCURRENCY_PER_CLIENT). */
  perClientConcurrency: number;
  /** Reads one client address may have waiting for a slot; one more → 429 (CXV_READ_QUEUE_PER_CLIENT). */
  perClientQueue: number;
}

export const DEFAULT_READ_LIMITS: ReadLimitSettings = {
  maxCells: 2_500,
  maxResponseBytes: 4 * 1024 * 1024,
  concurrency: 2,
  perClientConcurrency: 1,
  perClientQueue: 16,
};

export const READS_BUSY_RETRY_AFTER_SEC = 1;

/** The shape of one read, known once its query string is validated. */
export interface ReadCost {
  from: number;
  to: number;
  stepSec: number;
  /** Scored lines per bucket: 1, or 1 + segments for a CSI read with the value-weighted CSI. */
  series: number;
  /** What a series is, for the message: "segment series", "series". */
  seriesLabel?: string;
}

/** Steps offered when a read is too large, finest first. */
const STEPS: Array<[string, number]> = [
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
  ['1h', 3600],
  ['6h', 21_600],
  ['1d', 86_400],
  ['7d', 604_800],
  ['31d', 2_678_400],
];

/** 300,000 s → "3d 11h 20m". */
export function formatDuration(sec: number): string {
  const parts: string[] = [];
  let rest = Math.floor(sec / 60);
  for (const [unit, minutes] of [
    ['d', 1440],
    ['h', 60],
    ['m', 1],
  ] as const) {
    const n = Math.floor(rest / minutes);
    rest -= n * minutes;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join(' ') || '0m';
}

export const bucketsOf = (c: Pick<ReadCost, 'from' | 'to' | 'stepSec'>): number =>
  Math.ceil((c.to - c.from) / (c.stepSec * 1000));

/** Undefined when the read fits; otherwise the 400 that says which limit and how to narrow it. */
export function readTooLarge(cost: ReadCost, maxCells: number): HttpError | undefined {
  const buckets = bucketsOf(cost);
  const cells = buckets * cost.series;
  if (cells <= maxCells) return undefined;
  const rangeSec = (cost.to - cost.from) / 1000;
  const fits = STEPS.find(([, sec]) => sec > cost.stepSec && Math.ceil(rangeSec / sec) * cost.series <= maxCells);
  const longestRangeSec = Math.floor(maxCells / cost.series) * cost.stepSec;
  const narrow = [
    fits ? `use step=${fits[0]}` : undefined,
    longestRangeSec >= 60
      ? `a range of at most ${formatDuration(longestRangeSec)} at step=${formatDuration(cost.stepSec)}`
      : undefined,
    cost.series > 1 ? 'or a segment filter (one series)' : undefined,
  ].filter(Boolean);
  const n = (v: number) => v.toLocaleString('en-US');
  return new HttpError(
    400,
    'READ_TOO_LARGE',
    `${n(buckets)} buckets × ${n(cost.series)} ${cost.seriesLabel ?? 'series'} = ${n(cells)} exceeds CXV_READ_MAX_CELLS (${n(maxCells)}); ${narrow.join(', ')}.`,
    [{ field: 'querystring.step', message: `${n(cells)} cells over the limit of ${n(maxCells)}` }],
  );
}

/** Slots for reads: one per client address, and the process's. */
export class ReadGate {
  private readonly global: LimitFunction;
  private readonly perClient = new Map<string, LimitFunction>();

  constructor(readonly settings: ReadLimitSettings) {
    this.global = pLimit(settings.concurrency);
  }

  /** Reads running and waiting in the process. */
  get load(): { running: number; waiting: number } {
    let waiting = 0;
    for (const own of this.perClient.values()) waiting += own.pendingCount;
    return { running: this.global.activeCount, waiting: waiting + this.global.pendingCount };
  }

  /**
   * Waits for a slot of `client` and one of the process; resolves with the function
   * that gives both back (idempotent). Throws 429 READS_BUSY when the client already
   * has its queue full.
   */
  acquire(client: string): Promise<() => void> {
    let own = this.perClient.get(client);
    if (!own) {
      own = pLimit(this.settings.perClientConcurrency);
      this.perClient.set(client, own);
    }
    if (own.pendingCount >= this.settings.perClientQueue) {
      return Promise.reject(
        new HttpError(
          429,
          'READS_BUSY',
          `${own.activeCount + own.pendingCount} reads of this client are running or waiting (CXV_READ_QUEUE_PER_CLIENT is ${this.settings.perClientQueue}); wait for their answers, then retry after Retry-After.`,
          undefined,
          { 'retry-after': String(READS_BUSY_RETRY_AFTER_SEC) },
        ),
      );
    }
    const limit = own;
    return new Promise((acquired) => {
      void limit(
        () =>
          new Promise<void>((releaseClient) => {
            void this.global(
              () =>
                new Promise<void>((releaseGlobal) => {
                  let released = false;
                  acquired(() => {
                    if (released) return;
                    released = true;
                    releaseGlobal();
                    releaseClient();
                    queueMicrotask(() => {
                      if (limit.activeCount === 0 && limit.pendingCount === 0 && this.perClient.get(client) === limit) {
                        this.perClient.delete(client);
                      }
                    });
                  });
                }),
            );
          }),
      );
    });
  }
}

let processGate = new ReadGate(DEFAULT_READ_LIMITS);

/** The process's read limits (app start sets them from the configuration; tests set their own). */
export function configureReadLimits(settings: ReadLimitSettings): ReadGate {
  processGate = new ReadGate(settings);
  return processGate;
}

export const readGate = (): ReadGate => processGate;

const RELEASE = Symbol('cxv.readSlot');
type WithSlot = FastifyRequest & { [RELEASE]?: () => void };

const releaseSlot = async (request: FastifyRequest) => {
  (request as WithSlot)[RELEASE]?.();
};

/**
 * Route options for a bounded read: its cost checked against CXV_READ_MAX_CELLS once
 * the query is validated, a read slot held from then until the answer is sent, and the
 * answer's size checked. `costOf` returns undefined for a read with no bucket grid
 * (raw events: bounded by their row limit and range).
 */
export function boundedRead<Q>(
  costOf: (query: Q) => ReadCost | undefined,
): Pick<RouteShorthandOptions, 'preHandler' | 'onSend' | 'onResponse' | 'onRequestAbort'> {
  return {
    preHandler: async (request: FastifyRequest) => {
      const gate = processGate;
      const cost = costOf(request.query as Q);
      if (cost) {
        const tooLarge = readTooLarge(cost, gate.settings.maxCells);
        if (tooLarge) throw tooLarge;
      }
      (request as WithSlot)[RELEASE] = await gate.acquire(request.ip);
    },
    onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const max = processGate.settings.maxResponseBytes;
      const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : Buffer.isBuffer(payload) ? payload.length : 0;
      if (bytes <= max || reply.statusCode >= 400) return payload;
      reply.code(400).type('application/json; charset=utf-8');
      return JSON.stringify({
        code: 'READ_TOO_LARGE',
        message: `The answer is ${bytes.toLocaleString('en-US')} bytes, over CXV_READ_MAX_RESPONSE_BYTES (${max.toLocaleString('en-US')}); narrow the range, use a coarser step, filter by service/region/segment or lower limit.`,
        errors: [{ field: 'querystring', message: `answer of ${bytes} bytes over ${max}` }],
      });
    },
    onResponse: releaseSlot,
    onRequestAbort: releaseSlot,
  };
}

/** The cost of a bucketed read from its query string (the API's default range: the last hour). */
export function bucketedCost(
  q: { from?: number; to?: number; step: number | { sec: number } },
  series = 1,
  seriesLabel?: string,
  now: number = Date.now(),
): ReadCost {
  const to = q.to ?? now;
  return { from: q.from ?? to - 3600_000, to, stepSec: typeof q.step === 'number' ? q.step : q.step.sec, series, seriesLabel };
}

/**
 * `{ ...head, buckets }` as the JSON bytes `JSON.stringify` gives, built one bucket at a
 * time in slices of a few milliseconds (shared/vitals/slices.ts): one `JSON.stringify` of a
 * multi-megabyte answer, then its UTF-8 encoding for the size check and the socket, held
 * the event loop for 100–200 ms under load. Sent as a Buffer, the answer is neither
 * serialised nor encoded again; its size is its length.
 */
export async function bucketsAnswer(
  reply: FastifyReply,
  head: Record<string, unknown>,
  buckets: readonly unknown[],
): Promise<Buffer> {
  const opening = JSON.stringify(head).slice(0, -1);
  const parts = await mapInSlices(buckets, (b, i) => Buffer.from(i === 0 ? JSON.stringify(b) : `,${JSON.stringify(b)}`));
  reply.type('application/json; charset=utf-8');
  return Buffer.concat([Buffer.from(`${opening}${opening === '{' ? '' : ','}"buckets":[`), ...parts, Buffer.from(']}')]);
}
