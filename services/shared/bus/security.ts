import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

/**
 * How cxvitals connects to Kafka: plaintext (the embedded broker, a private network),
 * TLS, SASL, or SASL over TLS — one description, turned into each client's settings
 * here so the two clients cannot drift (issue 15, finding 8). Configuration:
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CA_FILE (+ _CERT_FILE/_KEY_FILE for mutual TLS),
 * KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or _PASSWORD_FILE.
 */

export const KAFKA_SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  /** PEM file of the CA that signed the brokers' certificates (default: the system's). */
  caFile?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  certFile?: string;
  keyFile?: string;
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
}

export const PLAINTEXT: KafkaSecurity = { protocol: 'plaintext' };

const usesTls = (s: KafkaSecurity) => s.protocol === 'ssl' || s.protocol === 'sasl_ssl';
const usesSasl = (s: KafkaSecurity) => s.protocol === 'sasl_plaintext' || s.protocol === 'sasl_ssl';

/** librdkafka properties (node-rdkafka global config). File paths are passed as paths; librdkafka reads them. */
export function rdkafkaSecurityConfig(s: KafkaSecurity): Record<string, string> {
  if (s.protocol === 'plaintext') return {};
  const out: Record<string, string> = { 'security.protocol': s.protocol };
  if (usesTls(s)) {
    if (s.caFile) out['ssl.ca.location'] = s.caFile;
    if (s.certFile) out['ssl.certificate.location'] = s.certFile;
    if (s.keyFile) out['ssl.key.location'] = s.keyFile;
  }
  if (usesSasl(s) && s.sasl) {
    out['sasl.mechanisms'] = s.sasl.mechanism.toUpperCase();
    out['sasl.username'] = s.sasl.username;
    out['sasl.password'] = s.sasl.password;
  }
  return out;
}

/** kafkajs `ssl` and `sasl` options; PEM files are read now (at client construction). */
export function kafkajsSecurityConfig(
  s: KafkaSecurity,
  read: (file: string) => Buffer = readFileSync,
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (s.protocol === 'plaintext') return {};
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (usesTls(s)) {
    out.ssl =
      s.caFile || s.certFile || s.keyFile
        ? {
            ...(s.caFile ? { ca: [read(s.caFile)] } : {}),
            ...(s.certFile ? { cert: read(s.certFile) } : {}),
            ...(s.keyFile ? { key: read(s.keyFile) } : {}),
          }
        : true;
  }
  if (usesSasl(s) && s.sasl) {
    out.sasl = { mechanism: s.sasl.mechanism, username: s.sasl.username, password: s.sasl.password } as SASLOptions;
  }
  return out;
}
