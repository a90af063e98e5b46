import { contactSource } from './contact.ts';
import { maintenanceSource } from './maintenance.ts';
import { probeSource } from './probe.ts';
import { socialSource } from './social.ts';
import { surveySource } from './survey.ts';

/** Every source cxvitals accepts. One line per source. */
export const SOURCES = {
  probe: probeSource,
  maintenance: maintenanceSource,
  contact: contactSource,
  survey: surveySource,
  social: socialSource,
} as const;

export type SourceName = keyof typeof SOURCES;

export const sourceNames = Object.keys(SOURCES) as SourceName[];

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(SOURCES, name);
}
