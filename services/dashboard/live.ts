import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { IncidentWatcher } from '../incidents/watcher.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { LandedWindows, LandingWatcher } from './landing-watcher.ts';

/**
 * GET /api/v1/live: server-sent events for the dashboard.
 *
 *   event: hello    once, on connect: { serverTime, staleAfterMs, newestWindowEnd, lastWrittenAt }
 *   event: windows  when window rows land in ClickHouse: { rows, newWindows, services, newestWindowEnd, lastWrittenAt }
 *   event: status   every `heartbeatMs`: { serverTime, newestWindowEnd, lastWrittenAt }
 *   event: incident when an incident opens, changes, resolves or is withdrawn: the incident as GET /api/v1/incidents shows it
 *
 * Times are epoch milliseconds. The heartbeat keeps proxies from closing an idle stream
 * and lets the page tell "no new data" (stale) from "no connection" (lost). Streams are
 * ended before the server closes, since an open stream would hold `close()` forever.
 */

export interface LiveOptions {
  heartbeatMs: number;
  staleAfterMs: number;
  /** At most this many open streams; more get 503 (a wall screen needs one). */
  maxClients: number;
  /** At most this many open streams per client (address and token); more get 429. */
  maxStreamsPerClient: number;
  /**
   * A stream is ended after this long (or when its token expires, if sooner); EventSource
   * reconnects by itself, and the reconnection is authorized afresh.
   */
  maxStreamAgeMs: number;
  /** Incident changes (services/incidents/watcher.ts), sent as `incident` events. */
  incidents?: Pick<IncidentWatcher, 'subscribe'>;
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function registerLiveRoute(app: FastifyInstance, watcher: LandingWatcher, metrics: Metrics, o: LiveOptions): void {
  const clients = new Set<ServerResponse>();
  const perClient = new Map<string, number>();

  app.get(
    '/api/v1/live',
    {
      schema: {
        summary:
          'Server-sent events: "hello" on connect, "windows" when window rows land, "status" heartbeats (text/event-stream)',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      // Who is asking: the address and the token (a shared wall-screen token still counts per screen).
      const client = `${request.ip}|${request.principal?.tokenHash ?? ''}`;
      if ((perClient.get(client) ?? 0) >= o.maxStreamsPerClient) {
        return reply
          .code(429)
          .header('retry-after', '30')
          .send({
            code: 'TOO_MANY_STREAMS_FOR_CLIENT',
            message: `At most ${o.maxStreamsPerClient} live streams per client; close another dashboard tab on this machine.`,
          });
      }
      if (clients.size >= o.maxClients) {
        return reply
          .code(503)
          .header('retry-after', '30')
          .send({
            code: 'TOO_MANY_STREAMS',
            message: `At most ${o.maxClients} live streams are served; close another dashboard tab.`,
          });
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) => {
        if (!res.writableEnded) res.write(frame(event, data));
      };
      res.write('retry: 3000\n\n');
      send('hello', { serverTime: Date.now(), staleAfterMs: o.staleAfterMs, ...watcher.freshness });
      const unsubscribe = watcher.subscribe((landed: LandedWindows) => send('windows', landed));
      const unsubscribeIncidents = o.incidents?.subscribe((incident) => send('incident', incident)) ?? (() => {});
      const heartbeat = setInterval(() => send('status', { serverTime: Date.now(), ...watcher.freshness }), o.heartbeatMs);
      const expiresAt = request.principal?.expiresAt;
      const ageMs = Math.max(0, Math.min(o.maxStreamAgeMs, (expiresAt ?? Number.POSITIVE_INFINITY) - Date.now()));
      const maxAge = setTimeout(() => res.end(), ageMs);
      clients.add(res);
      perClient.set(client, (perClient.get(client) ?? 0) + 1);
      metrics.liveClients.set(clients.size);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(maxAge);
        unsubscribe();
        unsubscribeIncidents();
        clients.delete(res);
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
        metrics.liveClients.set(clients.size);
      };
      // Only the response's 'close' means the client went away (a GET request's own
      // 'close' fires as soon as its empty body has been read).
      res.on('close', close);
    },
  );

  app.addHook('preClose', async () => {
    for (const res of clients) res.end();
    clients.clear();
    perClient.clear();
    metrics.liveClients.set(0);
  });
}
