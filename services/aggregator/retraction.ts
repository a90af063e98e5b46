import type { OutgoingMessage } from '../shared/bus/bus.ts';

/**
 * A retraction on the bus: a message on the source's topic marked by the `cxv-op`
 * header, whose value is `{eventId, receivedAt}` JSON (no Avro record: a retraction has
 * no content). Ingest writes it for `DELETE /api/v1/events/{source}/{eventId}`; it goes
 * through Kafka like every event, so it is counted exactly once like them. Keyed by the
 * eventId: the sender of a retraction need not know the event's service and region.
 */

export const OP_HEADER = 'cxv-op';
export const RETRACT_OP = 'retract';

export function retractionMessage(eventId: string, receivedAt: number): OutgoingMessage {
  return { key: eventId, value: Buffer.from(JSON.stringify({ eventId, receivedAt })), headers: { [OP_HEADER]: RETRACT_OP } };
}

export interface Retraction {
  eventId: string;
  receivedAt: number;
}

/** Reads a retraction's value; throws (code BAD_RETRACTION) on anything else, which the aggregator dead-letters. */
export function readRetraction(value: Buffer): Retraction {
  const parsed = JSON.parse(value.toString('utf8')) as { eventId?: unknown; receivedAt?: unknown };
  if (typeof parsed.eventId !== 'string' || typeof parsed.receivedAt !== 'number') {
    throw Object.assign(new Error('a retraction needs {eventId: string, receivedAt: number}'), { code: 'BAD_RETRACTION' });
  }
  return { eventId: parsed.eventId, receivedAt: parsed.receivedAt };
}
