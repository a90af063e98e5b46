import {
  addContact,
  CONTACT_FAMILY,
  type ContactAccumulator,
  type ContactThresholds,
  DEFAULT_CONTACT_THRESHOLDS,
} from '../../shared/kpi/contact.ts';
import { PROBE_FAMILY, type ProbeAccumulator } from '../../shared/kpi/probe.ts';
import { SOCIAL_FAMILY, type SocialAccumulator } from '../../shared/kpi/social.ts';
import { SURVEY_FAMILY, type SurveyAccumulator } from '../../shared/kpi/survey.ts';
import type { ContactRecord } from '../../shared/sources/contact.ts';
import type { ProbeRecord } from '../../shared/sources/probe.ts';
import type { SocialRecord } from '../../shared/sources/social.ts';
import type { SurveyRecord } from '../../shared/sources/survey.ts';
import { kpiBinding } from './generic.ts';

/**
 * The KPI families of the design table, stored in kpi_1m. Keys: (service, region,
 * segment, origin) for every family, plus channel and queue for the contact center.
 *
 * `probe` here carries the quality KPIs (latency, jitter, loss, throughput, MOS); its
 * Availability/Serviceability split lives in probe_kpi_1m (families/probe.ts), which
 * re-classifies results when maintenance is declared late. Reads take the split from
 * there.
 */

export const probeQualityBinding = kpiBinding<ProbeRecord, ProbeAccumulator>({
  source: 'probe',
  family: 'probe',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: PROBE_FAMILY.empty,
  add: (acc, r) => {
    PROBE_FAMILY.add(acc, r);
  },
});

export function contactBinding(thresholds: ContactThresholds = DEFAULT_CONTACT_THRESHOLDS) {
  return kpiBinding<ContactRecord, ContactAccumulator>({
    source: 'contact',
    family: 'contact',
    dims: (r) => ({
      service: r.service,
      region: r.region,
      segment: r.segment,
      channel: r.channel,
      queue: r.queue,
      origin: r.origin,
    }),
    empty: CONTACT_FAMILY.empty,
    add: (acc, r) => {
      addContact(acc, r, thresholds);
    },
  });
}

export const surveyBinding = kpiBinding<SurveyRecord, SurveyAccumulator>({
  source: 'survey',
  family: 'survey',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: SURVEY_FAMILY.empty,
  add: (acc, r) => {
    SURVEY_FAMILY.add(acc, r);
  },
});

export const socialBinding = kpiBinding<SocialRecord, SocialAccumulator>({
  source: 'social',
  family: 'social',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: SOCIAL_FAMILY.empty,
  add: (acc, r) => {
    SOCIAL_FAMILY.add(acc, r);
  },
});
