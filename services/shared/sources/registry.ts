import { maintenanceSource } from './maintenance.ts';
import { probeSource } from './probe.ts';
import type { SourceDefinition } from './source.ts';

/** Every source cxvitals accepts. One line per source. */
export const SOURCES = {
  probe: probeSource,
  maintenance: maintenanceSource,
} as const satisfies Record<string, SourceDefinition<never, object>>;

export type SourceName = keyof typeof SOURCES;

export const sourceNames = Object.keys(SOURCES) as SourceName[];

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(SOURCES, name);
}
