/**
 * Construction options shared by both bus implementations (and by `createBus`).
 * Everything except `kind`, `brokers`, `clientId` and `log` has a production default;
 * tests shorten the timeouts.
 */
import type { KafkaClientKind } from './bus.ts';
import { type KafkaSecurity, PLAINTEXT } from './security.ts';

/**
 * The logging shape the bus needs: a pino logger satisfies it (`log.info({ ... }, 'msg')`),
 * but nothing here depends on pino.
 */
export interface BusLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface BusOptions {
  kind: KafkaClientKind;
  /** Comma-separated `host:port` list. */
  brokers: string;
  clientId: string;
  log: BusLogger;
  /**
   * Deadline for one `produce()` call to be fully acknowledged, ms (librdkafka
   * `message.timeout.ms`; for kafkajs a deadline around `send()`). Default 30 000.
   */
  produceTimeoutMs?: number;
  /** Deadline for the first connection / metadata round trip, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Deadline of the `health()` metadata round trip, ms. Default 3 000. */
  healthTimeoutMs?: number;
  /** Consumer-group session timeout, ms. Default 30 000 (the embedded mock waits
   *  session timeout − 1 s for members to rejoin, so tests use ~6 000). */
  sessionTimeoutMs?: number;
  /** Consumer-group heartbeat interval, ms. Default 3 000. */
  heartbeatIntervalMs?: number;
  /**
   * Idempotent producer. Default true. rdkafka: `enable.idempotence` (works against the
   * mock). kafkajs: `idempotent: true` needs the cluster controller for InitProducerId; the
   * librdkafka mock advertises controller id 0 which is not one of its brokers, so the
   * kafkajs bus falls back to a non-idempotent producer there (logged as a warning).
   */
  idempotent?: boolean;
  /** TLS / SASL to the brokers (security.ts). Default: plaintext. */
  security?: KafkaSecurity;
}

export interface ResolvedBusOptions extends Required<Omit<BusOptions, 'log'>> {
  log: BusLogger;
}

export const resolveBusOptions = (options: BusOptions): ResolvedBusOptions => ({
  kind: options.kind,
  brokers: options.brokers,
  clientId: options.clientId,
  log: options.log,
  produceTimeoutMs: options.produceTimeoutMs ?? 30_000,
  connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
  healthTimeoutMs: options.healthTimeoutMs ?? 3_000,
  sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
  heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
  idempotent: options.idempotent ?? true,
  security: options.security ?? PLAINTEXT,
});

/** Default upper bound of messages per `onBatch` call. */
export const DEFAULT_MAX_BATCH_SIZE = 500;
