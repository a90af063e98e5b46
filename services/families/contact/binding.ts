import { kpiBinding } from '../../aggregator/families/generic.ts';
import {
  addContact,
  CONTACT_FAMILY,
  type ContactAccumulator,
  type ContactThresholds,
  DEFAULT_CONTACT_THRESHOLDS,
} from './accumulator.ts';
import type { ContactRecord } from './source.ts';

/** The contact-center family in kpi_1m, keyed (service, region, segment, channel, queue, origin); the thresholds are the configured ones. */
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
