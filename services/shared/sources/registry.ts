import { maintenanceSource } from './maintenance.ts';
import { probeSource } from './probe.ts';

/** Every source cxvitals accepts. One line per source. */
export const SOURCES = {
  probe: probeSource,
  maintenance: maintenanceSource,
} as const;

export type SourceName = keyof typeof SOURCES;

export const sourceNames = Object.keys(SOURCES) as SourceName[];

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(SOURCES, name);
}
