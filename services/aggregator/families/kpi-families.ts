import { addContact, type ContactThresholds, DEFAULT_CONTACT_THRESHOLDS, emptyContact } from '../../shared/kpi/contact.ts';
import { addProbe, emptyProbe } from '../../shared/kpi/probe.ts';
import { addSocial, emptySocial } from '../../shared/kpi/social.ts';
import { addSurvey, emptySurvey } from '../../shared/kpi/survey.ts';
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

export const probeQualityBinding = kpiBinding<ProbeRecord, ReturnType<typeof emptyProbe>>({
  source: 'probe',
  family: 'probe',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: emptyProbe,
  add: (acc, r) => {
    addProbe(acc, r);
  },
});

export function contactBinding(thresholds: ContactThresholds = DEFAULT_CONTACT_THRESHOLDS) {
  return kpiBinding<ContactRecord, ReturnType<typeof emptyContact>>({
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
    empty: emptyContact,
    add: (acc, r) => {
      addContact(acc, r, thresholds);
    },
  });
}

export const surveyBinding = kpiBinding<SurveyRecord, ReturnType<typeof emptySurvey>>({
  source: 'survey',
  family: 'survey',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: emptySurvey,
  add: (acc, r) => {
    addSurvey(acc, r);
  },
});

export const socialBinding = kpiBinding<SocialRecord, ReturnType<typeof emptySocial>>({
  source: 'social',
  family: 'social',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: emptySocial,
  add: (acc, r) => {
    addSocial(acc, r);
  },
});
