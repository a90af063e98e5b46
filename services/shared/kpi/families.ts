import { CONTACT_FAMILY } from '../../families/contact/accumulator.ts';
import { PROBE_FAMILY } from '../../families/probe/accumulator.ts';
import { SOCIAL_FAMILY } from '../../families/social/accumulator.ts';
import { SURVEY_FAMILY } from '../../families/survey/accumulator.ts';
import type { KpiFamily } from './catalog.ts';
import type { KpiFamilyDefinition } from './family.ts';

/** The built-in KPI families by name (family.ts): one entry per family. */
export const KPI_FAMILIES = {
  probe: PROBE_FAMILY,
  contact: CONTACT_FAMILY,
  survey: SURVEY_FAMILY,
  social: SOCIAL_FAMILY,
} as const satisfies { [F in KpiFamily]: KpiFamilyDefinition<object, never, F> };

/** A family's accumulator type. */
export type AccumulatorOf<F extends KpiFamily> = ReturnType<(typeof KPI_FAMILIES)[F]['empty']>;

/** The built-in families, to loop over (the order of the design table). */
export const KPI_FAMILY_LIST: ReadonlyArray<KpiFamilyDefinition<object, never>> = Object.values(KPI_FAMILIES);

/** The built-in family of that name, or undefined (a declared source's family, schemas/sources/). */
export function builtInFamily(name: string): KpiFamilyDefinition<object, never> | undefined {
  return Object.hasOwn(KPI_FAMILIES, name) ? KPI_FAMILIES[name as KpiFamily] : undefined;
}
