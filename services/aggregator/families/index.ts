import type { ContactThresholds } from '../../shared/kpi/contact.ts';
import type { AnyBinding } from '../binding.ts';
import { declaredBindings } from './declared.ts';
import { contactBinding, probeQualityBinding, socialBinding, surveyBinding } from './kpi-families.ts';
import { probeBinding } from './probe.ts';

/** Every KPI family the aggregator computes (declared sources add theirs from schemas/sources/). One line per family. */
export function bindings(options: { contact?: ContactThresholds } = {}): AnyBinding[] {
  return [
    probeBinding,
    probeQualityBinding,
    contactBinding(options.contact),
    surveyBinding,
    socialBinding,
    ...declaredBindings(),
  ];
}

export const BINDINGS: readonly AnyBinding[] = bindings();
