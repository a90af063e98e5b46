import { contactSource } from '../../families/contact/source.ts';
import { probeSource } from '../../families/probe/source.ts';
import { socialSource } from '../../families/social/source.ts';
import { surveySource } from '../../families/survey/source.ts';
import { DECLARED_DIR, type DeclaredKpi, type DeclaredSource, readDeclaredSources } from './declared.ts';
import { maintenanceSource } from './maintenance.ts';
import type { SourceDefinition } from './source.ts';
import { YamlFileError } from './yaml-file.ts';

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

export const isBuiltInSource = (name: string): boolean => BUILT_IN.has(name);

/**
 * Reads every declaration in `dir` and registers it (replacing an earlier load of the same
 * name). Throws, naming the file and the key, when a declaration is invalid or tries to
 * take a built-in name; nothing is registered then.
 */
export function loadDeclaredSources(dir = DECLARED_DIR, avroDir?: string): DeclaredSource[] {
  const loaded = readDeclaredSources(dir, avroDir);
  for (const s of loaded) {
    if (BUILT_IN.has(s.declaration.name)) {
      throw new YamlFileError(
        s.file,
        'source declaration',
        [{ path: 'name', message: `"${s.declaration.name}" is a built-in source; give the declared source another name` }],
        'See docs/adding-a-source.md for every key of a source declaration.',
      );
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

let declarationsError: YamlFileError | undefined;

/**
 * Throws the problems of the repository's declarations, if they had any: a pipeline must
 * not start without a source it was given (startPipeline and the CLI call this first).
 */
export function assertDeclaredSourcesLoaded(): void {
  if (declarationsError) throw declarationsError;
}

// The repository's own declarations are part of the product: load them with the registry,
// so every process (ingest, aggregator, CLI) sees the same sources. An invalid one is kept
// as an error for assertDeclaredSourcesLoaded, not thrown here: an import that throws
// would end any command (`cxvitals check` too) with a stack trace instead of the problems.
try {
  loadDeclaredSources();
} catch (err) {
  if (!(err instanceof YamlFileError)) throw err;
  declarationsError = err;
}
