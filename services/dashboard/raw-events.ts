import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import { boundedRead } from '../api/read-limits.ts';
import { filterParams, rangeOrLastHour, rangeParams } from '../api/time-params.ts';
import { maskPersonalData } from '../shared/auth/tokens.ts';
import { allSources } from '../shared/sources/registry.ts';
import type { Store } from '../shared/store/store.ts';

/**
 * GET /api/v1/events: the raw events behind a window, for drill-down ("the failed probes
 * of 10:41 on broadband/north"). Reads raw_events (sql/0002_raw_events.sql), whose order
 * key (source, service, region, ts) makes a window of one service a narrow range scan.
 *
 * Each event carries `problem`: whether it is the kind of event that costs points — a
 * probe with failures, an abandoned contact or one that waited past the service-level
 * threshold, a detractor / dissatisfied / high-effort survey answer, a negative post.
 * `problem=true` returns only those; otherwise problems come first.
 */

export interface RawEventsOptions {
  /** Contacts that waited longer than this count as problems (CXV_SERVICE_LEVEL_SEC). */
  serviceLevelSec: number;
}

/** SQL over `payload` (the JSON of the bus record) per source; fixed text, never user input. */
const PROBLEM_SQL: Record<string, string> = {
  probe: "JSONExtractUInt(payload, 'successes') < JSONExtractUInt(payload, 'attempts')",
  contact: "JSONExtractBool(payload, 'abandoned') OR JSONExtractFloat(payload, 'waitSec') > {serviceLevelSec:Float64}",
  survey: `multiIf(JSONExtractString(payload, 'kind') = 'nps', JSONExtractFloat(payload, 'score') <= 6,
                   JSONExtractString(payload, 'kind') = 'csat', JSONExtractFloat(payload, 'score') <= 3,
                   JSONExtractString(payload, 'kind') = 'ces', JSONExtractFloat(payload, 'score') >= 5, 0)`,
  social: "JSONExtractFloat(payload, 'sentiment') < -0.05",
};

/** What `problem` means per source, for the API description and the page. */
export const PROBLEM_MEANING: Record<string, string> = {
  probe: 'failed tests (successes < attempts)',
  contact: 'abandoned, or waited past the service-level threshold',
  survey: 'NPS 0–6, CSAT 1–3, CES 5–7',
  social: 'negative posts (sentiment < −0.05)',
};

const MAX_RANGE_MS = 7 * 86_400_000;
const boolParam = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const query = z.object({
  source: z.string().min(1).max(64).describe('Windowed source to read: probe, contact, survey, social or a declared source.'),
  ...filterParams,
  ...rangeParams,
  problem: boolParam.optional().describe('true: only the events that cost points (see problemMeaning in the answer).'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many events (1–1000, default 100).'),
});

const event = z.object({
  eventId: z.string(),
  ts: z.string(),
  receivedAt: z.string(),
  service: z.string(),
  region: z.string(),
  segment: z.string().nullable(),
  problem: z.boolean(),
  payload: z.record(z.string(), z.unknown()),
});

const response = z.object({
  source: z.string(),
  from: z.string(),
  to: z.string(),
  problemMeaning: z.string().nullable(),
  total: z.number().int(),
  problems: z.number().int(),
  masked: z.boolean().describe('customer ids, agent ids and free text hidden: the token lacks read:events'),
  events: z.array(event),
});

interface EventRow {
  event_id: string;
  ts_ms: string;
  received_ms: string;
  service: string;
  region: string;
  segment: string;
  problem: number;
  payload: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerRawEventsRoute(app: FastifyInstance, store: Store, o: RawEventsOptions): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/events',
    {
      // No bucket grid: bounded by its row limit and 7-day range; a read slot and the answer-size limit apply.
      ...boundedRead(() => undefined),
      schema: {
        summary:
          'Raw events of a source in a time range (drill-down), problems first; filter by service, region, segment, problem=true',
        querystring: query,
        response: { 200: response },
      },
    },
    async (request) => {
      const { from, to } = rangeOrLastHour(request.query);
      const q = { ...request.query, from, to };
      // Customer ids, agent ids and free text need read:events (shared/auth/tokens.ts).
      const masked = !request.principal?.scopes.has('read:events');
      const sources = allSources().map((s) => s.name);
      if (!sources.includes(q.source) || q.source === 'maintenance') {
        throw new HttpError(
          400,
          'UNKNOWN_SOURCE',
          `No windowed source "${q.source}"; use one of ${sources.filter((s) => s !== 'maintenance').join(', ')}.`,
          [{ field: 'querystring.source', message: 'not a windowed source' }],
        );
      }
      if (q.to <= q.from)
        throw new HttpError(400, 'INVALID_REQUEST', 'Invalid querystring: to must be after from', [
          { field: 'querystring.to', message: 'must be after from' },
        ]);
      if (q.to - q.from > MAX_RANGE_MS) {
        throw new HttpError(
          400,
          'RANGE_TOO_LONG',
          'Raw events are read at most 7 days at a time: narrow from/to to the window you drill into.',
          [{ field: 'querystring.from', message: 'range over 7 days' }],
        );
      }
      const problemSql = PROBLEM_SQL[q.source] ?? '0';
      const params = {
        source: q.source,
        service: q.service ?? '',
        region: q.region ?? '',
        segment: q.segment ?? '',
        from: q.from,
        to: q.to,
        limit: q.limit,
        serviceLevelSec: o.serviceLevelSec,
      };
      const where = [
        'source = {source:String}',
        "({service:String} = '' OR service = {service:String})",
        "({region:String} = '' OR region = {region:String})",
        "({segment:String} = '' OR segment = {segment:String})",
        'ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})',
      ].join(' AND ');
      const table = store.table('raw_events');
      const [counts] = await store.query<{ total: string; problems: string }>(
        `SELECT toString(count()) AS total, toString(countIf(problem)) AS problems
         FROM (SELECT ${problemSql} AS problem FROM ${table} FINAL WHERE ${where})`,
        params,
      );
      const rows = await store.query<EventRow>(
        // Aliases must not reuse column names: ClickHouse would apply them in WHERE too.
        `SELECT event_id, toString(toUnixTimestamp64Milli(ts)) AS ts_ms, toString(toUnixTimestamp64Milli(received_at)) AS received_ms,
                service, region, segment, toUInt8(${problemSql}) AS problem, payload
         FROM ${table} FINAL WHERE ${where} ${q.problem ? `AND (${problemSql})` : ''}
         ORDER BY problem DESC, ts ASC, event_id ASC LIMIT {limit:UInt32}`,
        params,
      );
      return {
        source: q.source,
        from: iso(q.from),
        to: iso(q.to),
        problemMeaning: PROBLEM_MEANING[q.source] ?? null,
        total: Number(counts?.total ?? 0),
        problems: Number(counts?.problems ?? 0),
        masked,
        events: rows.map((r) => ({
          eventId: r.event_id,
          ts: iso(Number(r.ts_ms)),
          receivedAt: iso(Number(r.received_ms)),
          service: r.service,
          region: r.region,
          segment: r.segment === '' ? null : r.segment,
          problem: Number(r.problem) === 1,
          payload: ((payload) => (masked ? maskPersonalData(payload) : payload))(
            JSON.parse(r.payload) as Record<string, unknown>,
          ),
        })),
      };
    },
  );
}
