import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkajsSecurityConfig, rdkafkaSecurityConfig } from '../../services/shared/bus/security.ts';
import { ConfigError, loadConfig } from '../../services/shared/config/config.ts';
import { clickhouseTlsOptions } from '../../services/shared/store/store.ts';

/**
 * Issue 15, finding 8 (transport and secrets): no TLS/SASL settings for Kafka, ClickHouse
 * over http only, secrets only from environment variables. Now one configuration gives
 * both Kafka clients the same TLS/SASL settings, ClickHouse takes an https CA (and a
 * client certificate), and every secret has a `*_FILE` variant (a mounted secret).
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'cxv-transport-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
const CERT = file('client.pem', 'CERT');
const KEY = file('client.key', 'KEY');
const KAFKA_PASSWORD = file('kafka-password', 's3cret-kafka\n');
const CH_PASSWORD = file('clickhouse-password', 'ch-pass\n');

function problems(env: Record<string, string>): Array<[string, string]> {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => [p.variable, p.message]);
  }
}

describe('Kafka: SASL over TLS for both clients from one configuration', () => {
  const env = {
    KAFKA_BROKERS: 'kafka-1:9093,kafka-2:9093',
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SSL_CA_FILE: CA,
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'cxvitals',
    KAFKA_SASL_PASSWORD_FILE: KAFKA_PASSWORD,
  };

  it('config: protocol, CA, mechanism, user, and the password read from its file (trailing newline dropped)', () => {
    expect(loadConfig(env).kafka.security).toEqual({
      protocol: 'sasl_ssl',
      caFile: CA,
      sasl: { mechanism: 'scram-sha-512', username: 'cxvitals', password: 's3cret-kafka' },
    });
  });

  it('node-rdkafka gets librdkafka properties', () => {
    expect(rdkafkaSecurityConfig(loadConfig(env).kafka.security)).toEqual({
      'security.protocol': 'sasl_ssl',
      'ssl.ca.location': CA,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'cxvitals',
      'sasl.password': 's3cret-kafka',
    });
  });

  it('kafkajs gets ssl with the CA bytes and sasl', () => {
    expect(kafkajsSecurityConfig(loadConfig(env).kafka.security)).toEqual({
      ssl: { ca: [Buffer.from('-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n')] },
      sasl: { mechanism: 'scram-sha-512', username: 'cxvitals', password: 's3cret-kafka' },
    });
  });

  it('mutual TLS without SASL: certificate and key for both clients', () => {
    const security = loadConfig({
      KAFKA_BROKERS: 'kafka:9093',
      KAFKA_SECURITY_PROTOCOL: 'ssl',
      KAFKA_SSL_CA_FILE: CA,
      KAFKA_SSL_CERT_FILE: CERT,
      KAFKA_SSL_KEY_FILE: KEY,
    }).kafka.security;
    expect(rdkafkaSecurityConfig(security)).toEqual({
      'security.protocol': 'ssl',
      'ssl.ca.location': CA,
      'ssl.certificate.location': CERT,
      'ssl.key.location': KEY,
    });
    expect(kafkajsSecurityConfig(security, (f) => Buffer.from(path.basename(f)))).toEqual({
      ssl: { ca: [Buffer.from('ca.pem')], cert: Buffer.from('client.pem'), key: Buffer.from('client.key') },
    });
  });

  it('nothing set: plaintext, no security properties (the embedded broker and today’s deployments unchanged)', () => {
    const security = loadConfig({}).kafka.security;
    expect(security).toEqual({ protocol: 'plaintext' });
    expect(rdkafkaSecurityConfig(security)).toEqual({});
    expect(kafkajsSecurityConfig(security)).toEqual({});
  });

  it('settings that do not fit together are refused at start, each named', () => {
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'sasl_ssl' })).toEqual([
      ['KAFKA_SASL_MECHANISM', 'required with KAFKA_SECURITY_PROTOCOL=sasl_ssl: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512'],
      ['KAFKA_SASL_USERNAME', 'required with KAFKA_SECURITY_PROTOCOL=sasl_ssl'],
      ['KAFKA_SASL_PASSWORD', 'required with KAFKA_SECURITY_PROTOCOL=sasl_ssl (or KAFKA_SASL_PASSWORD_FILE)'],
    ]);
    expect(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SSL_CA_FILE: CA })).toEqual([
      ['KAFKA_SSL_CA_FILE', 'needs KAFKA_SECURITY_PROTOCOL=ssl or sasl_ssl (it is plaintext)'],
      ['KAFKA_SASL_USERNAME', 'needs KAFKA_SECURITY_PROTOCOL=sasl_ssl or sasl_plaintext (it is plaintext)'],
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'tls' })[0]?.[0]).toBe('KAFKA_SECURITY_PROTOCOL');
  });
});

describe('ClickHouse over https with a CA; secrets from files', () => {
  it('https URL, CA and client certificate → @clickhouse/client tls options; password from its file', () => {
    const config = loadConfig({
      CLICKHOUSE_URL: 'https://clickhouse.example:8443',
      CLICKHOUSE_CA_FILE: CA,
      CLICKHOUSE_CERT_FILE: CERT,
      CLICKHOUSE_KEY_FILE: KEY,
      CLICKHOUSE_PASSWORD_FILE: CH_PASSWORD,
    });
    expect(config.clickhouse.password).toBe('ch-pass');
    expect(config.clickhouse.tls).toEqual({ caFile: CA, certFile: CERT, keyFile: KEY });
    expect(clickhouseTlsOptions({ caFile: CA, certFile: CERT, keyFile: KEY })).toEqual({
      ca_cert: Buffer.from('-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'),
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
    });
    expect(clickhouseTlsOptions({ caFile: CA })).toEqual({
      ca_cert: Buffer.from('-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'),
    });
  });

  it('a CA with an http:// URL, a secret given twice, an unreadable secret file: refused, each named', () => {
    expect(problems({ CLICKHOUSE_URL: 'http://clickhouse:8123', CLICKHOUSE_CA_FILE: CA })).toEqual([
      ['CLICKHOUSE_CA_FILE', 'needs an https:// CLICKHOUSE_URL'],
    ]);
    expect(problems({ CLICKHOUSE_PASSWORD: 'x', CLICKHOUSE_PASSWORD_FILE: CH_PASSWORD })).toEqual([
      ['CLICKHOUSE_PASSWORD_FILE', 'set together with CLICKHOUSE_PASSWORD: keep one (the file is the safer place for a secret)'],
    ]);
    expect(problems({ CLICKHOUSE_PASSWORD_FILE: path.join(dir, 'missing') })).toEqual([
      ['CLICKHOUSE_PASSWORD_FILE', 'cannot be read (ENOENT); mount the secret there or fix the path'],
    ]);
  });

  it('a password given in the environment is never echoed in a configuration error', () => {
    try {
      loadConfig({ KAFKA_SASL_PASSWORD: 'hunter2-very-secret' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['KAFKA_SASL_PASSWORD']);
    }
  });
});
