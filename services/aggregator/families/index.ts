import type { ContactThresholds } from '../../families/contact/accumulator.ts';
import { contactBinding } from '../../families/contact/binding.ts';
import { probeBinding, probeQualityBinding } from '../../families/probe/binding.ts';
import { socialBinding } from '../../families/social/binding.ts';
import { surveyBinding } from '../../families/survey/binding.ts';
import type { AnyBinding } from '../binding.ts';
import { declaredBindings } from './declared.ts';

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
