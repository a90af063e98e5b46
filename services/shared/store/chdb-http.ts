import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * TESTS ONLY: ClickHouse's HTTP interface in front of one chDB data folder, so several
 * cxvitals processes can share one embedded store exactly as they share a ClickHouse
 * server in production (`CLICKHOUSE_URL=http://127.0.0.1:<port>`). chDB holds one data
 * path per process; this front is that one process.
 *
 * It serves what `@clickhouse/client` sends over HTTP, and nothing more:
 *  - `GET /ping` (and `GET /`) → `Ok.`
 *  - `POST /?query_id=…&param_<name>=…&<setting>=…` with the SQL in the body (query,
 *    command), or `?query=INSERT … FORMAT JSONEachRow` with the rows in the body
 *    (ClickHouse concatenates the two, and so does this front);
 *  - errors as ClickHouse answers them: status 500, `X-ClickHouse-Exception-Code`, and a
 *    `Code: N. DB::Exception: … (TYPE)` body that the client parses into ClickHouseError.
 * No authentication, no compression, loopback only. Never use it in production: run
 * ClickHouse there (deploy/compose.yaml, deploy/k8s/).
 *
 * Run on its own: `npx tsx services/shared/store/chdb-http.ts <data-dir> [port]` prints
 * `CLICKHOUSE_URL=http://127.0.0.1:<port>`.
 */

/** URL parameters that are not ClickHouse settings. */
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'session_id', 'default_format', 'user', 'password', 'role']);

/**
 * A query parameter as ClickHouse's HTTP interface takes it (`param_x=<escaped text>`),
 * handed to the engine through `SET param_x = '<that text>'`: the engine then parses it
 * by the placeholder's type exactly as the server does. (chDB's own binder re-escapes
 * string values, which breaks composite values such as arrays of quoted strings.)
 */
export const setParamStatement = (name: string, httpValue: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw Object.assign(new Error(`invalid parameter name ${name}`), { code: '456' });
  return `SET param_${name} = '${httpValue.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
};

interface ChdbLikeConnection {
  query(params: {
    query: string;
    query_id: string;
    clickhouse_settings?: Record<string, unknown>;
  }): Promise<{ stream: NodeJS.ReadableStream }>;
  close(): Promise<void>;
}

export interface ChdbHttpServer {
  url: string;
  /** Queries answered so far (for tests that want to see traffic). */
  readonly requests: number;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw Object.assign(new Error(`request body over ${limitBytes} bytes`), { code: '1001' });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendError(response: ServerResponse, err: unknown): void {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const code = /^\d+$/.test(String(e.code ?? '')) ? String(e.code) : '1001';
  const type = typeof e.type === 'string' && e.type !== '' ? e.type : 'STD_EXCEPTION';
  const message = String(e.message ?? err).replace(/\s+$/, '');
  response.writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': code });
  response.end(`Code: ${code}. DB::Exception: ${message} (${type}) (version chdb-http)\n`);
}

export async function startChdbHttp(options: {
  dataDir: string;
  host?: string;
  port?: number;
  maxBodyBytes?: number;
}): Promise<ChdbHttpServer> {
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path: options.dataDir }) as unknown as ChdbLikeConnection;
  let requests = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => {});
    return next;
  };
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://chdb-http');
      if (url.pathname === '/ping' || (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))) {
        response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
        response.end('Ok.\n');
        return;
      }
      try {
        const body = await readBody(request, options.maxBodyBytes ?? 256 * 1024 * 1024);
        const sql = [url.searchParams.get('query') ?? '', body].filter((part) => part.trim() !== '').join('\n');
        const setParams: string[] = [];
        const clickhouse_settings: Record<string, unknown> = {};
        for (const [key, value] of url.searchParams) {
          if (key.startsWith('param_')) setParams.push(setParamStatement(key.slice('param_'.length), value));
          else if (!NOT_SETTINGS.has(key)) clickhouse_settings[key] = value;
        }
        const query_id = url.searchParams.get('query_id') ?? randomUUID();
        requests += 1;
        // Parameters are session state in chDB: one statement at a time, so none sees another's.
        const result = await serial(() =>
          connection.query({ query: [...setParams, sql].join(';\n'), query_id, clickhouse_settings }),
        );
        response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-query-id': query_id });
        result.stream.pipe(response);
      } catch (err) {
        sendError(response, err);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    get requests() {
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close();
    },
  };
}

// `npx tsx services/shared/store/chdb-http.ts <data-dir> [port]`: a standalone front.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir) {
    process.stderr.write('usage: chdb-http.ts <data-dir> [port]\n');
    process.exit(2);
  }
  const front = await startChdbHttp({ dataDir, port: Number(port ?? 0) });
  process.stdout.write(`CLICKHOUSE_URL=${front.url}\n`);
  const stop = () => void front.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
