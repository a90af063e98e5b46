import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../shared/metrics.ts';
import type { LandedWindows, LandingWatcher } from './landing-watcher.ts';

/**
 * GET /api/v1/live: server-sent events for the dashboard.
 *
 *   event: hello    once, on connect: { serverTime, staleAfterMs, newestWindowEnd, lastWrittenAt }
 *   event: windows  when window rows land in ClickHouse: { rows, newWindows, services, newestWindowEnd, lastWrittenAt }
 *   event: status   every `heartbeatMs`: { serverTime, newestWindowEnd, lastWrittenAt }
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
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function registerLiveRoute(app: FastifyInstance, watcher: LandingWatcher, metrics: Metrics, o: LiveOptions): void {
  const clients = new Set<ServerResponse>();

  app.get(
    '/api/v1/live',
    {
      schema: {
        summary:
          'Server-sent events: "hello" on connect, "windows" when window rows land, "status" heartbeats (text/event-stream)',
        produces: ['text/event-stream'],
      },
    },
    async (_request, reply) => {
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
      const heartbeat = setInterval(() => send('status', { serverTime: Date.now(), ...watcher.freshness }), o.heartbeatMs);
      clients.add(res);
      metrics.liveClients.set(clients.size);
      const close = () => {
        clearInterval(heartbeat);
        unsubscribe();
        clients.delete(res);
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
    metrics.liveClients.set(0);
  });
}
