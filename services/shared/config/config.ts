import path from 'node:path';
import { z } from 'zod';
import { parseReadTokenEntry, type ReadTokenEntry } from '../auth/tokens.ts';
import { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS, type KafkaSecurity } from '../bus/security.ts';
import type { StoreTls } from '../store/store.ts';
import { transportSecrets } from './transport.ts';

/**
 * Every setting cxvitals reads, declared once. The table in the README is the human
 * view of this schema; `describeConfig()` prints it from here so the two cannot drift.
 * Nothing set → everything embedded. `KAFKA_BROKERS` → that Kafka cluster.
 * `CLICKHOUSE_URL` → that ClickHouse server over HTTP.
 */

const boolFlag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'must be one of 1, 0, true, false, yes, no, on, off',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const httpUrl = z
  .string()
  .trim()
  .url({ message: 'must be a URL such as http://clickhouse:8123' })
  .refine((v) => /^https?:\/\//.test(v), { message: 'must start with http:// or https://' });

const brokerList = z
  .string()
  .trim()
  .min(1)
  .refine((v) => v.split(',').every((b) => /^[^\s:,]+:\d{1,5}$/.test(b.trim())), {
    message: 'must be a comma-separated list of host:port, e.g. kafka-1:9092,kafka-2:9092',
  });

/**
 * Ingest tokens as stored: `source:sha256hex` entries, comma-separated (`*` = every
 * source). Only hashes live in configuration; the tokens themselves stay with the senders.
 */
const tokenEntry = /^(\*|[a-z][a-z0-9_-]{0,63}):([0-9a-f]{64})$/;
const ingestTokens = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e !== ''),
  )
  .refine((entries) => entries.length > 0 && entries.every((e) => tokenEntry.test(e)), {
    message: 'must be a comma-separated list of source:sha256hex or *:sha256hex (64 hex digits: printf %s "$TOKEN" | sha256sum)',
  })
  .transform((entries) => entries.map((e) => ({ source: e.slice(0, e.indexOf(':')), sha256: e.slice(e.indexOf(':') + 1) })));

/** Read tokens as stored (services/shared/auth/tokens.ts has the format). */
const readTokens = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const entries: ReadTokenEntry[] = [];
    for (const part of v.split(',').filter((e) => e.trim() !== '')) {
      const entry = parseReadTokenEntry(part);
      if (typeof entry === 'string') ctx.addIssue({ code: 'custom', message: entry });
      else entries.push(entry);
    }
    return entries;
  });

const nameList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== ''),
  );

interface Setting {
  schema: z.ZodType<unknown>;
  default?: string;
  doc: string;
  /** A bad value is not echoed in the error (it may be a secret pasted in the wrong place). */
  redactInErrors?: true;
}

/**
 * librdkafka's mock broker keeps at most 5 MiB per partition and silently drops the
 * oldest beyond that (rdkafka_mock.c, `max_size`): ingest refuses new data once the
 * aggregator's uncommitted backlog on a partition reaches half of it.
 */
export const EMBEDDED_BROKER_BACKLOG_BYTES = (5 * 2 ** 20) / 2;

export const SETTINGS = {
  CXV_HOST: {
    schema: z.string().trim().min(1),
    default: '127.0.0.1',
    doc: 'Address the HTTP server binds to (set 0.0.0.0 to listen on every interface).',
  },
  CXV_PORT: {
    schema: intIn(0, 65535),
    default: '8080',
    doc: 'HTTP port (dashboard, API, /metrics, /healthz). 0 picks a free port.',
  },
  CXV_DATA_DIR: {
    schema: z.string().trim().min(1),
    default: './data',
    doc: 'Embedded ClickHouse (chDB) data folder. Kept across restarts.',
  },
  CXV_STORE_READ_CONNECTIONS: {
    schema: intIn(0, 8),
    default: '2',
    doc: 'Embedded chDB: connections that run queries, beside the one that runs inserts and commands (chDB runs one statement at a time per connection, so a read waits only behind reads). 0 = reads share the insert connection. Ignored with CLICKHOUSE_URL.',
  },
  CXV_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Log level of the structured (JSON) log on stdout.',
  },
  CXV_SIMULATE: { schema: boolFlag, default: '1', doc: 'Run the built-in traffic simulator (set 0 to turn it off).' },
  KAFKA_BROKERS: {
    schema: brokerList,
    doc: 'Kafka bootstrap servers. Unset → an embedded mock cluster (librdkafka) in-process, in memory only.',
  },
  CXV_KAFKA_CLIENT: {
    schema: z.enum(['rdkafka', 'kafkajs']),
    default: 'rdkafka',
    doc: 'Kafka client library behind the bus: rdkafka (node-rdkafka, librdkafka) or kafkajs (pure JS).',
  },
  CXV_EMBEDDED_KAFKA_BROKERS: { schema: intIn(1, 9), default: '1', doc: 'Brokers in the embedded mock cluster.' },
  CXV_KAFKA_SESSION_TIMEOUT_MS: {
    schema: intIn(3000, 300_000),
    doc: "Consumer-group session timeout: how soon a dead aggregator's partitions move to another (default 30000, 6000 embedded).",
  },
  KAFKA_CLIENT_ID: { schema: z.string().trim().min(1), default: 'cxvitals', doc: 'Kafka client.id.' },
  KAFKA_SECURITY_PROTOCOL: {
    schema: z.string().trim().toLowerCase().pipe(z.enum(KAFKA_SECURITY_PROTOCOLS)),
    default: 'plaintext',
    doc: 'How to reach KAFKA_BROKERS: plaintext, ssl (TLS), sasl_plaintext or sasl_ssl (SASL over TLS; use this across any network you do not own). Both Kafka clients take it (librdkafka security.protocol, kafkajs ssl/sasl).',
  },
  KAFKA_SSL_CA_FILE: {
    schema: z.string().trim().min(1),
    doc: "PEM file of the CA that signed the brokers' certificates (ssl / sasl_ssl; unset → the system CAs).",
  },
  KAFKA_SSL_CERT_FILE: {
    schema: z.string().trim().min(1),
    doc: 'Client certificate (PEM) for mutual TLS with the brokers; needs KAFKA_SSL_KEY_FILE.',
  },
  KAFKA_SSL_KEY_FILE: { schema: z.string().trim().min(1), doc: 'Private key (PEM) of KAFKA_SSL_CERT_FILE.' },
  KAFKA_SASL_MECHANISM: {
    schema: z.string().trim().toLowerCase().pipe(z.enum(KAFKA_SASL_MECHANISMS)),
    doc: 'SASL mechanism (sasl_plaintext / sasl_ssl): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.',
  },
  KAFKA_SASL_USERNAME: { schema: z.string().trim().min(1), doc: 'SASL user name (sasl_plaintext / sasl_ssl).' },
  KAFKA_SASL_PASSWORD: {
    schema: z.string().min(1),
    redactInErrors: true,
    doc: 'SASL password. Prefer KAFKA_SASL_PASSWORD_FILE (a mounted secret). Never logged.',
  },
  KAFKA_SASL_PASSWORD_FILE: {
    schema: z.string().trim().min(1),
    doc: 'File holding the SASL password (one trailing newline is ignored); instead of KAFKA_SASL_PASSWORD.',
  },
  CLICKHOUSE_URL: { schema: httpUrl, doc: 'ClickHouse HTTP endpoint. Unset → embedded chDB in CXV_DATA_DIR.' },
  CLICKHOUSE_USER: { schema: z.string().trim().min(1), default: 'default', doc: 'ClickHouse user (with CLICKHOUSE_URL).' },
  CLICKHOUSE_PASSWORD: {
    schema: z.string(),
    default: '',
    redactInErrors: true,
    doc: 'ClickHouse password (with CLICKHOUSE_URL). Prefer CLICKHOUSE_PASSWORD_FILE (a mounted secret). Never logged.',
  },
  CLICKHOUSE_PASSWORD_FILE: {
    schema: z.string().trim().min(1),
    doc: 'File holding the ClickHouse password (one trailing newline is ignored); instead of CLICKHOUSE_PASSWORD.',
  },
  CLICKHOUSE_CA_FILE: {
    schema: z.string().trim().min(1),
    doc: 'PEM file of the CA that signed the ClickHouse server certificate (needs an https:// CLICKHOUSE_URL; unset → the system CAs).',
  },
  CLICKHOUSE_CERT_FILE: {
    schema: z.string().trim().min(1),
    doc: 'Client certificate (PEM) for mutual TLS with ClickHouse; needs CLICKHOUSE_KEY_FILE and CLICKHOUSE_CA_FILE.',
  },
  CLICKHOUSE_KEY_FILE: { schema: z.string().trim().min(1), doc: 'Private key (PEM) of CLICKHOUSE_CERT_FILE.' },
  CLICKHOUSE_DATABASE: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a plain identifier (letters, digits, _)' }),
    default: 'cxvitals',
    doc: 'ClickHouse database; created if missing.',
  },
  CLICKHOUSE_CLUSTER: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { message: 'must be the cluster name of remote_servers (letters, digits, _ and -)' }),
    doc: 'ClickHouse cluster name (with CLICKHOUSE_URL). Set → migrations create Replicated*MergeTree tables `<table>_local` ON CLUSTER, with `{shard}`/`{replica}` macros, and a Distributed table `<table>` over them (docs/production.md). Unset → single-node tables.',
  },
  CXV_TOPIC_PARTITIONS: {
    schema: intIn(1, 10_000),
    default: '12',
    doc: '`cxvitals provision`: partitions per source topic; the upper bound of busy aggregator instances (docs/sizing.md).',
  },
  CXV_TOPIC_REPLICATION_FACTOR: {
    schema: intIn(1, 16),
    default: '3',
    doc: '`cxvitals provision`: replicas of every topic (at most the number of brokers).',
  },
  CXV_TOPIC_MIN_INSYNC_REPLICAS: {
    schema: intIn(1, 16),
    default: '2',
    doc: '`cxvitals provision`: min.insync.replicas of every topic; with acks=all a write survives the loss of (replication factor − this) brokers.',
  },
  CXV_TOPIC_RETENTION_MS: {
    schema: intIn(60_000, 3_153_600_000_000),
    default: String(7 * 86_400_000),
    doc: '`cxvitals provision`: retention.ms of the live source topics: the longest aggregator outage that loses no event.',
  },
  CXV_BACKFILL_TOPIC_RETENTION_MS: {
    schema: intIn(60_000, 3_153_600_000_000),
    default: String(3 * 86_400_000),
    doc: '`cxvitals provision`: retention.ms of the backfill topics (history replays; the files stay the source of truth).',
  },
  CXV_DLQ_RETENTION_MS: {
    schema: intIn(60_000, 3_153_600_000_000),
    default: String(30 * 86_400_000),
    doc: '`cxvitals provision`: retention.ms of the dead-letter topic cx.dlq.v1 (long enough for someone to look).',
  },
  CXV_WINDOW_OUT_OF_ORDERNESS_MS: {
    schema: intIn(0, 3_600_000),
    default: '5000',
    doc: 'How far the watermark trails the largest event time seen per partition.',
  },
  CXV_ALLOWED_LATENESS_MS: {
    schema: intIn(0, 86_400_000),
    default: '300000',
    doc: 'Events this late behind the watermark still update their (already written) window; later ones go to late_events.',
  },
  CXV_CORRECTION_HORIZON_MS: {
    schema: intIn(0, 3_153_600_000_000),
    default: String(7 * 86_400_000),
    doc: 'How long after an event first arrived a correction (same eventId, other content) or a retraction of it is applied; later ones go to late_events with reason correction_past_horizon (docs/corrections.md).',
  },
  CXV_AGGREGATOR_CHECKPOINT_BYTES: {
    schema: intIn(0, 2 ** 40),
    default: '1048576',
    doc: 'The aggregator also writes its open windows (a checkpoint) once a partition has delivered this many bytes since the last one, so offsets are committed and raw rows leave memory before windows close; keep it below CXV_INGEST_MAX_BUS_BACKLOG_BYTES. 0 = only by time.',
  },
  CXV_AGGREGATOR_CHECKPOINT_MS: {
    schema: intIn(0, 3_600_000),
    default: '15000',
    doc: 'The aggregator also writes its open windows at least this often; 0 = only by bytes (both 0: windows are written when they close).',
  },
  CXV_ROLLUP_INTERVAL_MS: {
    schema: intIn(0, 86_400_000),
    default: '300000',
    doc: 'How often the aggregator rolls settled days of the window tables up into kpi_1d and probe_kpi_1d, which reads at step=1d, month or quarter take whole days from (services/shared/vitals/rollup.ts). 0 = never (reads then sum one-minute rows).',
  },
  CXV_ROLLUP_SETTLE_MS: {
    schema: intIn(0, 31 * 86_400_000),
    default: '3600000',
    doc: 'A day is rolled up once it ended this long ago. A day written after its rollup (late events, corrections, back-dated maintenance) is read from the one-minute rows until rolled again, so this only trades rollup work against read speed.',
  },
  CXV_IDLE_PARTITION_MS: {
    schema: intIn(100, 3_600_000),
    default: '10000',
    doc: 'A partition with no events for this long advances its watermark by wall clock.',
  },
  CXV_BACKFILL_OUT_OF_ORDERNESS_MS: {
    schema: intIn(0, 366 * 86_400_000),
    default: String(366 * 86_400_000),
    doc: 'Out-of-orderness allowed on history replays (backfill topics): their windows close when the replay goes idle, and a replay that resumes after a pause keeps counting (lateness there follows the event times of the replay).',
  },
  CXV_RAW_RETENTION_DAYS: {
    schema: intIn(1, 36_500),
    default: '90',
    doc: 'Days raw events are kept in ClickHouse for drill-down and dedupe of replays (a TTL set at start).',
  },
  CXV_MAX_FUTURE_MS: {
    schema: intIn(0, 86_400_000),
    default: '300000',
    doc: 'Events stamped further than this in the future (by wall clock) are rejected.',
  },
  CXV_GOALS_ADMIN_TOKEN: {
    schema: z.string().regex(/^\S{24,}$/, {
      message: 'must be at least 24 characters without spaces, e.g. the output of `openssl rand -base64 32`',
    }),
    doc: 'Bearer token of the built-in goals administrator. Unset in embedded mode → a demo planner token is generated and printed at start.',
  },
  CXV_MODEL_FILE: {
    schema: z.string().trim().min(1),
    default: 'schemas/model/cx-model.v1.yaml',
    doc: 'The KPI → KQI → CSI model (and service catalog). Re-read when it changes; an invalid edit is reported and the previous model stays.',
  },
  CXV_SHORT_ABANDON_SEC: {
    schema: intIn(0, 3600),
    default: '5',
    doc: 'Contacts abandoned within this many seconds are short abandons, excluded from offered.',
  },
  CXV_SERVICE_LEVEL_SEC: {
    schema: intIn(1, 86_400),
    default: '20',
    doc: 'Service level threshold: answered within this many seconds.',
  },
  CXV_EXCUSE_RETROACTIVE_MAINTENANCE: {
    schema: boolFlag,
    default: '0',
    doc: 'Whether maintenance declared after it started excuses downtime in Availability (default: no; it is reported either way).',
  },
  CXV_INGEST_TOKENS: {
    schema: ingestTokens,
    redactInErrors: true,
    doc: 'Ingest API tokens, as SHA-256 hashes: comma-separated `source:sha256hex` (or `*:sha256hex` for every source). Unset, and no CXV_INGEST_TOKENS_FILE → a random demo token valid for every source is generated at start and printed.',
  },
  CXV_INGEST_TOKENS_FILE: {
    schema: z.string().trim().min(1),
    doc: 'File with more ingest token entries, one `source:sha256hex` per line (`#` starts a comment); read at start, added to CXV_INGEST_TOKENS.',
  },
  CXV_READ_MAX_CELLS: {
    schema: intIn(100, 10_000_000),
    default: '2500',
    doc: 'Buckets × series one read may compute (a CSI read without a segment filter is 1 + segments series); past it a read gets 400 READ_TOO_LARGE naming a step or range that fits.',
  },
  CXV_READ_MAX_RESPONSE_BYTES: {
    schema: intIn(1024, 1024 * 1024 * 1024),
    default: '4194304',
    doc: 'Largest answer of a read route, bytes; a bigger one is replaced by 400 READ_TOO_LARGE.',
  },
  CXV_READ_CONCURRENCY: {
    schema: intIn(1, 256),
    default: '2',
    doc: 'Reads computed at once in the process; more wait their turn (ingest and health routes never wait).',
  },
  CXV_READ_CONCURRENCY_PER_CLIENT: {
    schema: intIn(1, 256),
    default: '1',
    doc: 'Reads computed at once for one client address.',
  },
  CXV_READ_QUEUE_PER_CLIENT: {
    schema: intIn(0, 10_000),
    default: '16',
    doc: 'Reads one client address may have waiting; one more gets 429 READS_BUSY with Retry-After.',
  },
  CXV_INGEST_MAX_BODY_BYTES: {
    schema: intIn(1024, 1024 * 1024 * 1024),
    default: '10485760',
    doc: 'Largest ingest request body, bytes; a bigger one gets 413.',
  },
  CXV_INGEST_MAX_IN_FLIGHT_EVENTS: {
    schema: intIn(1, 10_000_000),
    default: '50000',
    doc: 'Events this process may have handed to Kafka and not yet seen acknowledged; a body that would go over gets 429 with Retry-After (one holding more events than this gets 413).',
  },
  CXV_INGEST_MAX_BUS_BACKLOG_BYTES: {
    schema: intIn(0, 2 ** 50),
    doc:
      "Per partition: data the aggregator's group has not yet committed, in bytes, above which ingest answers 429 with Retry-After instead of accepting more. " +
      'Unset → 2621440 (half of what the embedded broker keeps per partition) with the embedded broker, 0 (off) with KAFKA_BROKERS; ' +
      'set it when KAFKA_BROKERS points at a `cxvitals broker` process, or below the retention of a real Kafka topic.',
  },
  CXV_INGEST_PRODUCE_TIMEOUT_MS: {
    schema: intIn(100, 600_000),
    default: '10000',
    doc: 'How long an ingest request waits for Kafka to acknowledge its events before answering 503 with Retry-After.',
  },
  CXV_INGEST_VERSION_LOOKUP_MS: {
    schema: intIn(0, 60_000),
    default: '30',
    doc:
      "How long an ingest answer may wait, from the request's arrival, for the store to say which accepted events were corrections or duplicates (`corrected`/`duplicate`). " +
      "An answer never waits for it once Kafka has acknowledged and this time has passed: the counts are then left out (`classified: false`) and the aggregator's counters have them. 0 = never look up.",
  },
  CXV_READ_TOKENS: {
    schema: readTokens,
    redactInErrors: true,
    doc: 'Read API tokens, as SHA-256 hashes: comma-separated `scope+scope:sha256hex [owner=<name>] [expires=<ISO time>]`, scopes read:vitals, read:events, read:metrics (docs/security.md). Unset, and no CXV_READ_TOKENS_FILE → a random demo token with every read scope is generated at start and printed.',
  },
  CXV_READ_TOKENS_FILE: {
    schema: z.string().trim().min(1),
    doc: 'File with more read token entries, one per line (`#` starts a comment); read at start, added to CXV_READ_TOKENS.',
  },
  CXV_ALLOWED_HOSTS: {
    schema: nameList,
    default: '',
    doc: 'Host names this server answers for besides localhost and IP addresses (a DNS-rebinding guard): comma-separated, e.g. cxvitals.noc.example,api. `*` turns the check off.',
  },
  CXV_CORS_ORIGINS: {
    schema: nameList,
    default: '',
    doc: 'Origins whose pages may call the API from a browser (CORS), comma-separated, e.g. https://noc.example; empty = none.',
  },
  CXV_METRICS_PUBLIC: {
    schema: boolFlag,
    default: '0',
    doc: '/metrics without a token (for a scrape inside a private network); default: a read:metrics token is needed.',
  },
  CXV_RATE_LIMIT_PER_TOKEN: {
    schema: intIn(1, 10_000_000),
    default: '6000',
    doc: 'Requests a minute one read token may make (ingest is bounded by its own back-pressure); more get 429 with Retry-After.',
  },
  CXV_RATE_LIMIT_PER_ADDRESS: {
    schema: intIn(1, 10_000_000),
    default: '600',
    doc: 'Requests a minute from one address without a recognised read token (goals person tokens included); more get 429.',
  },
  CXV_HTTP_HEADERS_TIMEOUT_MS: {
    schema: intIn(1000, 600_000),
    default: '10000',
    doc: 'A request whose headers have not all arrived after this long is answered 408 and its connection closed.',
  },
  CXV_HTTP_REQUEST_TIMEOUT_MS: {
    schema: intIn(1000, 3_600_000),
    default: '60000',
    doc: 'A request (headers and body) that has not fully arrived after this long is answered 408 and its connection closed.',
  },
  CXV_LIVE_STREAMS_PER_CLIENT: {
    schema: intIn(1, 10_000),
    default: '8',
    doc: 'Live streams (/api/v1/live) one client (address and token) may hold open; more get 429. At most 100 in all.',
  },
  CXV_LIVE_MAX_AGE_SEC: {
    schema: intIn(10, 86_400),
    default: '3600',
    doc: 'A live stream is ended after this long (the browser reconnects and is authorized again).',
  },
} satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  simulate: boolean;
  kafka: {
    mode: 'embedded' | 'external';
    brokers: string | undefined;
    client: 'rdkafka' | 'kafkajs';
    embeddedBrokers: number;
    clientId: string;
    sessionTimeoutMs: number | undefined;
    /** TLS / SASL to the brokers (shared/bus/security.ts). */
    security: KafkaSecurity;
  };
  clickhouse: {
    mode: 'embedded' | 'external';
    url: string | undefined;
    user: string;
    password: string;
    database: string;
    /** Embedded: chDB connections for queries beside the insert connection (CXV_STORE_READ_CONNECTIONS). */
    readConnections: number;
    /** ClickHouse cluster name: replicated + distributed tables (CLICKHOUSE_CLUSTER). */
    cluster: string | undefined;
    /** https CA (and client certificate) files; undefined → the system CAs. */
    tls: StoreTls | undefined;
  };
  /** Cost limits and concurrency of reads (services/api/read-limits.ts ReadLimitSettings). */
  reads: {
    maxCells: number;
    maxResponseBytes: number;
    concurrency: number;
    perClientConcurrency: number;
    perClientQueue: number;
  };
  /** Topic provisioning (`cxvitals provision`). */
  topics: {
    partitions: number;
    replicationFactor: number;
    minInsyncReplicas: number;
    retentionMs: number;
    backfillRetentionMs: number;
    dlqRetentionMs: number;
  };
  windows: {
    outOfOrdernessMs: number;
    allowedLatenessMs: number;
    idlePartitionMs: number;
    backfillOutOfOrdernessMs: number;
    maxFutureMs: number;
  };
  aggregator: {
    checkpointBytes: number;
    checkpointMs: number;
    correctionHorizonMs: number;
    rollupIntervalMs: number;
    rollupSettleMs: number;
  };
  rawRetentionDays: number;
  excuseRetroactiveMaintenance: boolean;
  ingest: {
    /** Hashed tokens from CXV_INGEST_TOKENS (the file's entries are read by services/ingest/auth.ts). */
    tokens: Array<{ source: string; sha256: string }>;
    tokensFile: string | undefined;
    maxBodyBytes: number;
    maxInFlightEvents: number;
    produceTimeoutMs: number;
    /** How long an answer may wait for the corrections/duplicates lookup, from the request's arrival (0 = no lookup). */
    versionLookupMs: number;
    /** Per partition, bytes not yet committed by the aggregator's group above which ingest refuses (0 = off). */
    maxBusBacklogBytes: number;
  };
  goals: { adminToken: string | undefined };
  /** Who may read (docs/security.md). */
  read: {
    tokens: ReadTokenEntry[];
    tokensFile: string | undefined;
    allowedHosts: string[];
    corsOrigins: string[];
    metricsPublic: boolean;
    rateLimit: { perTokenPerMinute: number; perAddressPerMinute: number };
    liveStreamsPerClient: number;
    liveMaxAgeMs: number;
  };
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
  model: { file: string; shortAbandonSec: number; serviceLevelSec: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; message: string; value: string | undefined }>) {
    super(
      `Invalid configuration:\n${problems
        .map((p) => `  ${p.variable}=${JSON.stringify(p.value ?? '')}: ${p.message}`)
        .join('\n')}\nFix the variable(s) above (see the configuration table in README.md) and start again.`,
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment. Throws ConfigError naming every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const values: Partial<Record<SettingName, unknown>> = {};
  const problems: ConfigError['problems'] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as Array<[SettingName, Setting]>) {
    const raw = env[name];
    const given = raw !== undefined && raw !== '';
    if (!given && setting.default === undefined) continue;
    const result = setting.schema.safeParse(given ? raw : setting.default);
    if (result.success) values[name] = result.data;
    else
      problems.push({
        variable: name,
        value: setting.redactInErrors ? '(redacted)' : raw,
        message: result.error.issues.map((i) => i.message).join('; '),
      });
  }
  // Settings that are only valid together: reported with the per-variable problems.
  if (values.CLICKHOUSE_CLUSTER !== undefined && values.CLICKHOUSE_URL === undefined)
    problems.push({
      variable: 'CLICKHOUSE_CLUSTER',
      value: env.CLICKHOUSE_CLUSTER,
      message:
        'needs CLICKHOUSE_URL: the embedded chDB is a single node (unset CLICKHOUSE_CLUSTER, or point CLICKHOUSE_URL at the cluster)',
    });
  const secrets = transportSecrets(values, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const v = values as Record<SettingName, never>;
  const brokers = v.KAFKA_BROKERS as string | undefined;
  const url = v.CLICKHOUSE_URL as string | undefined;
  return {
    host: v.CXV_HOST,
    port: v.CXV_PORT,
    dataDir: path.resolve(v.CXV_DATA_DIR as string),
    logLevel: v.CXV_LOG_LEVEL,
    simulate: v.CXV_SIMULATE,
    kafka: {
      mode: brokers ? 'external' : 'embedded',
      brokers,
      client: v.CXV_KAFKA_CLIENT,
      embeddedBrokers: v.CXV_EMBEDDED_KAFKA_BROKERS,
      clientId: v.KAFKA_CLIENT_ID,
      sessionTimeoutMs: v.CXV_KAFKA_SESSION_TIMEOUT_MS as number | undefined,
      security: secrets.kafka,
    },
    clickhouse: {
      mode: url ? 'external' : 'embedded',
      url,
      user: v.CLICKHOUSE_USER,
      password: secrets.clickhousePassword,
      database: v.CLICKHOUSE_DATABASE,
      readConnections: v.CXV_STORE_READ_CONNECTIONS,
      cluster: v.CLICKHOUSE_CLUSTER as string | undefined,
      tls: secrets.clickhouseTls,
    },
    reads: {
      maxCells: v.CXV_READ_MAX_CELLS,
      maxResponseBytes: v.CXV_READ_MAX_RESPONSE_BYTES,
      concurrency: v.CXV_READ_CONCURRENCY,
      perClientConcurrency: v.CXV_READ_CONCURRENCY_PER_CLIENT,
      perClientQueue: v.CXV_READ_QUEUE_PER_CLIENT,
    },
    topics: {
      partitions: v.CXV_TOPIC_PARTITIONS,
      replicationFactor: v.CXV_TOPIC_REPLICATION_FACTOR,
      minInsyncReplicas: v.CXV_TOPIC_MIN_INSYNC_REPLICAS,
      retentionMs: v.CXV_TOPIC_RETENTION_MS,
      backfillRetentionMs: v.CXV_BACKFILL_TOPIC_RETENTION_MS,
      dlqRetentionMs: v.CXV_DLQ_RETENTION_MS,
    },
    windows: {
      outOfOrdernessMs: v.CXV_WINDOW_OUT_OF_ORDERNESS_MS,
      allowedLatenessMs: v.CXV_ALLOWED_LATENESS_MS,
      idlePartitionMs: v.CXV_IDLE_PARTITION_MS,
      backfillOutOfOrdernessMs: v.CXV_BACKFILL_OUT_OF_ORDERNESS_MS,
      maxFutureMs: v.CXV_MAX_FUTURE_MS,
    },
    aggregator: {
      checkpointBytes: v.CXV_AGGREGATOR_CHECKPOINT_BYTES,
      checkpointMs: v.CXV_AGGREGATOR_CHECKPOINT_MS,
      correctionHorizonMs: v.CXV_CORRECTION_HORIZON_MS,
      rollupIntervalMs: v.CXV_ROLLUP_INTERVAL_MS,
      rollupSettleMs: v.CXV_ROLLUP_SETTLE_MS,
    },
    rawRetentionDays: v.CXV_RAW_RETENTION_DAYS,
    excuseRetroactiveMaintenance: v.CXV_EXCUSE_RETROACTIVE_MAINTENANCE,
    ingest: {
      tokens: (v.CXV_INGEST_TOKENS as Config['ingest']['tokens'] | undefined) ?? [],
      tokensFile: v.CXV_INGEST_TOKENS_FILE as string | undefined,
      maxBodyBytes: v.CXV_INGEST_MAX_BODY_BYTES,
      maxInFlightEvents: v.CXV_INGEST_MAX_IN_FLIGHT_EVENTS,
      produceTimeoutMs: v.CXV_INGEST_PRODUCE_TIMEOUT_MS,
      versionLookupMs: v.CXV_INGEST_VERSION_LOOKUP_MS,
      maxBusBacklogBytes:
        (v.CXV_INGEST_MAX_BUS_BACKLOG_BYTES as number | undefined) ?? (brokers ? 0 : EMBEDDED_BROKER_BACKLOG_BYTES),
    },
    goals: { adminToken: v.CXV_GOALS_ADMIN_TOKEN as string | undefined },
    read: {
      tokens: (v.CXV_READ_TOKENS as ReadTokenEntry[] | undefined) ?? [],
      tokensFile: v.CXV_READ_TOKENS_FILE as string | undefined,
      allowedHosts: v.CXV_ALLOWED_HOSTS,
      corsOrigins: v.CXV_CORS_ORIGINS,
      metricsPublic: v.CXV_METRICS_PUBLIC,
      rateLimit: { perTokenPerMinute: v.CXV_RATE_LIMIT_PER_TOKEN, perAddressPerMinute: v.CXV_RATE_LIMIT_PER_ADDRESS },
      liveStreamsPerClient: v.CXV_LIVE_STREAMS_PER_CLIENT,
      liveMaxAgeMs: (v.CXV_LIVE_MAX_AGE_SEC as number) * 1000,
    },
    http: { headersTimeoutMs: v.CXV_HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: v.CXV_HTTP_REQUEST_TIMEOUT_MS },
    model: {
      file: path.resolve(v.CXV_MODEL_FILE as string),
      shortAbandonSec: v.CXV_SHORT_ABANDON_SEC,
      serviceLevelSec: v.CXV_SERVICE_LEVEL_SEC,
    },
  };
}

/** The configuration table (Markdown), generated from SETTINGS. */
export function describeConfig(): string {
  const rows = Object.entries(SETTINGS as Record<string, Setting>).map(
    ([name, s]) =>
      `| \`${name}\` | ${s.default === undefined ? '(unset)' : s.default === '' ? '(empty)' : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
