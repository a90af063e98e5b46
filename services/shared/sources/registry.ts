import { contactSource } from './contact.ts';
import { DECLARED_DIR, type DeclaredKpi, type DeclaredSource, readDeclaredSources } from './declared.ts';
import { maintenanceSource } from './maintenance.ts';
import { probeSource } from './probe.ts';
import { socialSource } from './social.ts';
import type { SourceDefinition } from './source.ts';
import { surveySource } from './survey.ts';

/** Every built-in source cxvitals accepts. One line per source. */
export const SOURCES = {
  probe: probeSource,
  maintenance: maintenanceSource,
  contact: contactSource,
  survey: surveySource,
  social: socialSource,
} as const;

/**
 * The built-in names. Declared sources (schemas/sources/*.yaml) are added to `SOURCES`,
 * `sourceNames` and `isSourceName` at run time, so code that looks a source up by name
 * (ingest, Avro codecs) serves them unchanged; their names are not in this type.
 */
export type SourceName = keyof typeof SOURCES;

const BUILT_IN = new Set<string>(Object.keys(SOURCES));

export const sourceNames = Object.keys(SOURCES) as SourceName[];

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(SOURCES, name);
}

type AnySource = SourceDefinition<unknown, object>;

const declared = new Map<string, DeclaredSource>();

/** Built-in and declared sources, built-ins first. */
export function allSources(): AnySource[] {
  return Object.values(SOURCES as Record<string, AnySource>);
}

export function getSource(name: string): AnySource | undefined {
  return Object.hasOwn(SOURCES, name) ? (SOURCES as Record<string, AnySource>)[name] : undefined;
}

export const isDeclaredSource = (name: string): boolean => declared.has(name);

/**
 * Reads every declaration in `dir` and registers it (replacing an earlier load of the same
 * name). Throws, naming the file and the key, when a declaration is invalid or tries to
 * take a built-in name; nothing is registered then.
 */
export function loadDeclaredSources(dir = DECLARED_DIR, avroDir?: string): DeclaredSource[] {
  const loaded = readDeclaredSources(dir, avroDir);
  for (const s of loaded) {
    if (BUILT_IN.has(s.declaration.name)) {
      throw new Error(`${s.file}: "${s.declaration.name}" is a built-in source; give the declared source another name.`);
    }
  }
  for (const s of loaded) {
    const name = s.declaration.name;
    declared.set(name, s);
    (SOURCES as Record<string, AnySource>)[name] = s.definition as unknown as AnySource;
    if (!sourceNames.includes(name as SourceName)) sourceNames.push(name as SourceName);
  }
  return loaded;
}

/** The custom KPIs of every declared source, for the generic aggregator family and the model. */
export function declaredKpis(): DeclaredKpi[] {
  return [...declared.values()].flatMap((s) => s.kpis);
}

// The repository's own declarations are part of the product: load them with the registry,
// so every process (ingest, aggregator, CLI) sees the same sources.
loadDeclaredSources();
