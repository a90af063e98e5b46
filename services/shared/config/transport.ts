import { accessSync, constants, readFileSync } from 'node:fs';
import type { KafkaSecurity } from '../bus/security.ts';
import type { StoreTls } from '../store/store.ts';

/**
 * The transport settings that only make sense together (Kafka TLS/SASL, ClickHouse
 * https), and secrets from files: every secret can come from `<NAME>_FILE` (a mounted
 * Kubernetes or Docker secret) instead of the environment, where it would show in
 * `/proc/<pid>/environ`, `docker inspect` and crash reports (issue 15, finding 8).
 * Problems are added to the configuration's list, so every bad variable is named at once.
 */

type Problems = Array<{ variable: string; message: string; value: string | undefined }>;
type Values = Partial<Record<string, unknown>>;

export interface TransportSecrets {
  kafka: KafkaSecurity;
  clickhousePassword: string;
  clickhouseTls: StoreTls | undefined;
}

/** A secret from NAME or NAME_FILE (not both); one trailing newline of the file is not part of it. */
export function secretFrom(
  name: string,
  values: Values,
  env: NodeJS.ProcessEnv,
  problems: Problems,
  read: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): string | undefined {
  const direct = values[name] as string | undefined;
  const file = values[`${name}_FILE`] as string | undefined;
  const givenDirect = env[name] !== undefined && env[name] !== '';
  if (file === undefined) return direct;
  if (givenDirect) {
    problems.push({
      variable: `${name}_FILE`,
      value: file,
      message: `set together with ${name}: keep one (the file is the safer place for a secret)`,
    });
    return undefined;
  }
  try {
    return read(file).replace(/\r?\n$/, '');
  } catch (err) {
    problems.push({
      variable: `${name}_FILE`,
      value: file,
      message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); mount the secret there or fix the path`,
    });
    return undefined;
  }
}

function readable(variable: string, values: Values, problems: Problems): string | undefined {
  const file = values[variable] as string | undefined;
  if (file === undefined) return undefined;
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    problems.push({
      variable,
      value: file,
      message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); mount the file there or fix the path`,
    });
  }
  return file;
}

export function transportSecrets(values: Values, env: NodeJS.ProcessEnv, problems: Problems): TransportSecrets {
  const protocol = (values.KAFKA_SECURITY_PROTOCOL as KafkaSecurity['protocol'] | undefined) ?? 'plaintext';
  const tls = protocol === 'ssl' || protocol === 'sasl_ssl';
  const sasl = protocol === 'sasl_plaintext' || protocol === 'sasl_ssl';
  const caFile = readable('KAFKA_SSL_CA_FILE', values, problems);
  const certFile = readable('KAFKA_SSL_CERT_FILE', values, problems);
  const keyFile = readable('KAFKA_SSL_KEY_FILE', values, problems);
  const mechanism = values.KAFKA_SASL_MECHANISM as NonNullable<KafkaSecurity['sasl']>['mechanism'] | undefined;
  const username = values.KAFKA_SASL_USERNAME as string | undefined;
  const password = secretFrom('KAFKA_SASL_PASSWORD', values, env, problems);
  const kafkaProblem = (variable: string, message: string) => problems.push({ variable, value: env[variable], message });
  if (!tls) {
    for (const [variable, given] of [
      ['KAFKA_SSL_CA_FILE', caFile],
      ['KAFKA_SSL_CERT_FILE', certFile],
      ['KAFKA_SSL_KEY_FILE', keyFile],
    ] as const)
      if (given !== undefined) kafkaProblem(variable, `needs KAFKA_SECURITY_PROTOCOL=ssl or sasl_ssl (it is ${protocol})`);
  }
  if ((certFile === undefined) !== (keyFile === undefined))
    kafkaProblem(
      certFile ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE',
      'mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
  if (sasl) {
    if (mechanism === undefined)
      kafkaProblem(
        'KAFKA_SASL_MECHANISM',
        `required with KAFKA_SECURITY_PROTOCOL=${protocol}: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
      );
    if (username === undefined) kafkaProblem('KAFKA_SASL_USERNAME', `required with KAFKA_SECURITY_PROTOCOL=${protocol}`);
    if (password === undefined && values.KAFKA_SASL_PASSWORD_FILE === undefined)
      kafkaProblem('KAFKA_SASL_PASSWORD', `required with KAFKA_SECURITY_PROTOCOL=${protocol} (or KAFKA_SASL_PASSWORD_FILE)`);
  } else {
    for (const variable of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'])
      if (values[variable] !== undefined)
        problems.push({
          variable,
          value: variable === 'KAFKA_SASL_PASSWORD' ? '(redacted)' : env[variable],
          message: `needs KAFKA_SECURITY_PROTOCOL=sasl_ssl or sasl_plaintext (it is ${protocol})`,
        });
  }
  const kafka: KafkaSecurity = {
    protocol,
    ...(tls && caFile ? { caFile } : {}),
    ...(tls && certFile ? { certFile } : {}),
    ...(tls && keyFile ? { keyFile } : {}),
    ...(sasl && mechanism && username && password !== undefined ? { sasl: { mechanism, username, password } } : {}),
  };

  const url = values.CLICKHOUSE_URL as string | undefined;
  const chCa = readable('CLICKHOUSE_CA_FILE', values, problems);
  const chCert = readable('CLICKHOUSE_CERT_FILE', values, problems);
  const chKey = readable('CLICKHOUSE_KEY_FILE', values, problems);
  const chProblem = (variable: string, message: string) => problems.push({ variable, value: env[variable], message });
  if ((chCa || chCert || chKey) && !url?.startsWith('https://'))
    chProblem(chCa ? 'CLICKHOUSE_CA_FILE' : 'CLICKHOUSE_CERT_FILE', 'needs an https:// CLICKHOUSE_URL');
  if ((chCert === undefined) !== (chKey === undefined))
    chProblem(
      chCert ? 'CLICKHOUSE_KEY_FILE' : 'CLICKHOUSE_CERT_FILE',
      'mutual TLS needs both CLICKHOUSE_CERT_FILE and CLICKHOUSE_KEY_FILE',
    );
  if ((chCert || chKey) && !chCa)
    chProblem('CLICKHOUSE_CA_FILE', 'mutual TLS with ClickHouse needs the CA too (@clickhouse/client takes them together)');
  const clickhousePassword = secretFrom('CLICKHOUSE_PASSWORD', values, env, problems) ?? '';
  return {
    kafka,
    clickhousePassword,
    clickhouseTls: chCa ? { caFile: chCa, ...(chCert && chKey ? { certFile: chCert, keyFile: chKey } : {}) } : undefined,
  };
}
