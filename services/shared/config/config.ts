import path from 'node:path';
import { z } from 'zod';

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

interface Setting {
  schema: z.ZodType<unknown>;
  default?: string;
  doc: string;
}

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
  KAFKA_CLIENT_ID: { schema: z.string().trim().min(1), default: 'cxvitals', doc: 'Kafka client.id.' },
  CLICKHOUSE_URL: { schema: httpUrl, doc: 'ClickHouse HTTP endpoint. Unset → embedded chDB in CXV_DATA_DIR.' },
  CLICKHOUSE_USER: { schema: z.string().trim().min(1), default: 'default', doc: 'ClickHouse user (with CLICKHOUSE_URL).' },
  CLICKHOUSE_PASSWORD: { schema: z.string(), default: '', doc: 'ClickHouse password (with CLICKHOUSE_URL). Never logged.' },
  CLICKHOUSE_DATABASE: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a plain identifier (letters, digits, _)' }),
    default: 'cxvitals',
    doc: 'ClickHouse database; created if missing.',
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
  CXV_IDLE_PARTITION_MS: {
    schema: intIn(100, 3_600_000),
    default: '10000',
    doc: 'A partition with no events for this long advances its watermark by wall clock.',
  },
  CXV_MAX_FUTURE_MS: {
    schema: intIn(0, 86_400_000),
    default: '300000',
    doc: 'Events stamped further than this in the future (by wall clock) are rejected.',
  },
  CXV_EXCUSE_RETROACTIVE_MAINTENANCE: {
    schema: boolFlag,
    default: '0',
    doc: 'Whether maintenance declared after it started excuses downtime in Availability (default: no; it is reported either way).',
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
  };
  clickhouse: {
    mode: 'embedded' | 'external';
    url: string | undefined;
    user: string;
    password: string;
    database: string;
  };
  windows: {
    outOfOrdernessMs: number;
    allowedLatenessMs: number;
    idlePartitionMs: number;
    maxFutureMs: number;
  };
  excuseRetroactiveMaintenance: boolean;
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
    else problems.push({ variable: name, value: raw, message: result.error.issues.map((i) => i.message).join('; ') });
  }
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
    },
    clickhouse: {
      mode: url ? 'external' : 'embedded',
      url,
      user: v.CLICKHOUSE_USER,
      password: v.CLICKHOUSE_PASSWORD,
      database: v.CLICKHOUSE_DATABASE,
    },
    windows: {
      outOfOrdernessMs: v.CXV_WINDOW_OUT_OF_ORDERNESS_MS,
      allowedLatenessMs: v.CXV_ALLOWED_LATENESS_MS,
      idlePartitionMs: v.CXV_IDLE_PARTITION_MS,
      maxFutureMs: v.CXV_MAX_FUTURE_MS,
    },
    excuseRetroactiveMaintenance: v.CXV_EXCUSE_RETROACTIVE_MAINTENANCE,
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
