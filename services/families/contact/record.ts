// Generated from schemas/avro/contact.v1.avsc by `npm run generate:records`: do not edit by hand.

/** One contact-center interaction (a call, chat, email, social or self-service contact). */
export interface ContactRecord {
  eventId: string;
  /** event time (contact arrival), epoch milliseconds UTC */
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  /** voice | chat | email | social | self-service */
  channel: string;
  queue: string;
  waitSec: number;
  abandoned: boolean;
  handleSec: number | null;
  resolved: boolean | null;
  transfers: number | null;
  reason: string | null;
  agentId: string | null;
  customerId: string | null;
}
