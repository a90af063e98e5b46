/**
 * The social KPI family (design doc, "KPIs"):
 *
 * - social volume: mentions in the window.
 * - negative share = mentions with sentiment < −0.05 / mentions (a fraction).
 * - mean sentiment = Σ sentiment / mentions (−1…1).
 *
 * Social surge is not a function of one window but of the sequence: see surge.ts.
 */

import type { KpiFamilyDefinition } from '../../shared/kpi/family.ts';
import { ratio } from '../../shared/kpi/ratio.ts';
import type { SocialRecord } from './record.ts';

/** Strictly below this a mention is negative; the dead band around 0 keeps neutral noise out. */
export const NEGATIVE_SENTIMENT_BELOW = -0.05;

/** What the accumulator needs of a SocialRecord (source.ts, beside this file). */
export type SocialMeasurement = Pick<SocialRecord, 'sentiment'>;

export interface SocialAccumulator {
  mentions: number;
  negativeMentions: number;
  sentimentSum: number;
}

export interface SocialKpis {
  volume: number;
  negativeShare: number | null;
  meanSentiment: number | null;
}

export const emptySocial = (): SocialAccumulator => ({ mentions: 0, negativeMentions: 0, sentimentSum: 0 });

/** Adds one mention in place. */
export function addSocial(acc: SocialAccumulator, m: SocialMeasurement): SocialAccumulator {
  acc.mentions += 1;
  acc.sentimentSum += m.sentiment;
  if (m.sentiment < NEGATIVE_SENTIMENT_BELOW) acc.negativeMentions += 1;
  return acc;
}

/** The accumulator of both windows (every field summed). Inputs are not changed. */
export function mergeSocial(a: SocialAccumulator, b: SocialAccumulator): SocialAccumulator {
  return {
    mentions: a.mentions + b.mentions,
    negativeMentions: a.negativeMentions + b.negativeMentions,
    sentimentSum: a.sentimentSum + b.sentimentSum,
  };
}

export function socialKpis(acc: SocialAccumulator): SocialKpis {
  return {
    volume: acc.mentions,
    negativeShare: ratio(acc.negativeMentions, acc.mentions),
    meanSentiment: ratio(acc.sentimentSum, acc.mentions),
  };
}

/** The social family (family.ts). Surge comes from the sequence of windows (surge.ts), through the options. */
export const SOCIAL_FAMILY: KpiFamilyDefinition<SocialAccumulator, SocialMeasurement, 'social'> = {
  name: 'social',
  empty: emptySocial,
  add: addSocial,
  merge: mergeSocial,
  kpis: (acc, options) => {
    const m = socialKpis(acc);
    return {
      social_volume: m.volume,
      social_negative_share: m.negativeShare,
      social_mean_sentiment: m.meanSentiment,
      social_surge: options.socialSurge ?? null,
    };
  },
  shares: {
    social_negative_share: (s) => ({ numerator: s.negativeMentions, denominator: s.mentions }),
  },
};
