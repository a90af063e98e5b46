// Generated from schemas/avro/social.v1.avsc by `npm run generate:records`: do not edit by hand.

/** One social-media post or mention. sentiment is in [-1, 1]; sentimentMethod says where it came from ('provided' or the library that computed it). */
export interface SocialRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  platform: string;
  text: string | null;
  sentiment: number;
  sentimentMethod: string;
  author: string | null;
  reach: number | null;
}
