/** librdkafka error codes (rdkafka.h) and offsets the rdkafka bus and subscription act on. */
import type { LibrdKafkaError } from 'node-rdkafka';

export const ERR_MSG_TIMED_OUT = -192;
export const ERR_QUEUE_FULL = -184;
export const ERR_TIMED_OUT = -185;
export const ERR_ASSIGN_PARTITIONS = -175;
export const ERR_REVOKE_PARTITIONS = -174;
/** librdkafka's "no offset" sentinel (RD_KAFKA_OFFSET_INVALID). */
export const OFFSET_INVALID = -1001;

const isLibrdKafkaError = (e: unknown): e is LibrdKafkaError =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number';

/** The librdkafka code of a thrown error, if it carries one. */
export const rdCode = (e: unknown): number | undefined => (isLibrdKafkaError(e) ? e.code : undefined);
