import { backfillTopicForSource, topicForSource } from '../shared/bus/bus.ts';
import type { SourceName } from '../shared/sources/registry.ts';

/**
 * The topics the aggregator reads: per source the live topic `cx.<source>.v1` and the
 * history topic `cx.<source>.backfill.v1`, which replays write to so that a file's
 * past times get their own event-time clock instead of arriving "late" on the live one.
 */
export interface SourceTopic {
  source: SourceName;
  backfill: boolean;
}

export const backfillTopic = backfillTopicForSource;

export function sourceTopics(sources: readonly SourceName[]): Map<string, SourceTopic> {
  const topics = new Map<string, SourceTopic>();
  for (const source of sources) {
    topics.set(topicForSource(source), { source, backfill: false });
    if (source !== 'maintenance') topics.set(backfillTopic(source), { source, backfill: true });
  }
  return topics;
}
