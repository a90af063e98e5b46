import { kpiBinding } from '../../aggregator/families/generic.ts';
import { SOCIAL_FAMILY, type SocialAccumulator } from './accumulator.ts';
import type { SocialRecord } from './source.ts';

/** The social family in kpi_1m, keyed (service, region, segment, origin). */
export const socialBinding = kpiBinding<SocialRecord, SocialAccumulator>({
  source: 'social',
  family: 'social',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: SOCIAL_FAMILY.empty,
  add: SOCIAL_FAMILY.add,
});
