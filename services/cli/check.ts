import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_MODEL_PATH, loadModel, ModelError } from '../model/load.ts';
import { MappingMismatchError, mapFile } from '../replay/map-file.ts';
import { loadMapping } from '../replay/mapping/schema.ts';
import { MAPPINGS_DIR, mappingProblems, ReplaySetupError, resolveMapping } from '../replay/resolve.ts';
import { fieldErrors, requiredMessage } from '../shared/sources/common.ts';
import { AVRO_DIR, DECLARED_DIR, type DeclaredKpi, loadDeclaredSource } from '../shared/sources/declared.ts';
import { getSource, isBuiltInSource } from '../shared/sources/registry.ts';
import { YamlFileError } from '../shared/sources/yaml-file.ts';

/**
 * `cxvitals check [file]`: everything a data engineer writes, validated before anything
 * runs — the CX model, every source declaration, every mapping, and (given a file) every
 * row of that file through its mapping and its source's validation, as `replay --dry-run`
 * does. One line per problem, `file:path.to.field: message`; exit 0 when all is valid, 1
 * when something is not, 2 when the command was misused (a file that does not exist).
 * `startPipeline` runs the same declaration and model checks and refuses to start on them.
 */

export interface Problem {
  file: string;
  path: string;
  line?: number;
  message: string;
}

export const formatProblem = (p: Problem): string =>
  `${shown(p.file)}:${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`;

const shown = (file: string): string => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
};

const yamlIn = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(dir, f))
    : [];

function fromYamlError(err: YamlFileError): Problem[] {
  return err.issues.map((i) => ({
    file: err.file,
    path: i.path,
    ...(i.line === undefined ? {} : { line: i.line }),
    message: i.message,
  }));
}

/** Every declaration of `dir`, each checked on its own (one bad file does not hide the others). */
export function checkDeclarations(
  dir = DECLARED_DIR,
  avroDir = AVRO_DIR,
): { problems: Problem[]; kpis: DeclaredKpi[]; invalidSources: Set<string> } {
  const problems: Problem[] = [];
  const invalidSources = new Set<string>();
  const kpis: DeclaredKpi[] = [];
  const names = new Map<string, string>();
  for (const file of yamlIn(dir)) {
    try {
      const s = loadDeclaredSource(file, avroDir);
      if (isBuiltInSource(s.declaration.name)) {
        problems.push({
          file,
          path: 'name',
          message: `"${s.declaration.name}" is a built-in source; give the declared source another name`,
        });
      }
      const earlier = names.get(s.declaration.name);
      if (earlier !== undefined) {
        problems.push({ file, path: 'name', message: `"${s.declaration.name}" is declared in ${shown(earlier)} too` });
      }
      names.set(s.declaration.name, file);
      kpis.push(...s.kpis);
    } catch (err) {
      if (!(err instanceof YamlFileError)) throw err;
      problems.push(...fromYamlError(err));
      invalidSources.add(path.basename(file).replace(/\.ya?ml$/, ''));
    }
  }
  return { problems, kpis, invalidSources };
}

/** The model, with the declared KPIs it may score. */
export async function checkModel(file: string, extraKpis: readonly DeclaredKpi[]): Promise<Problem[]> {
  try {
    await loadModel(file, { extraKpis });
    return [];
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    return err.issues.map((i) => ({ file, path: i.path, message: i.message }));
  }
}

/** `path: message`, as mappingProblems words it, as a problem of `file`. */
function problemAt(file: string, problem: string): Problem {
  const cut = problem.indexOf(': ');
  return { file, path: problem.slice(0, cut), message: problem.slice(cut + 2) };
}

/**
 * Every mapping of `dir`: the file itself, then how it fits its source. A mapping to a
 * source whose declaration is invalid (`invalidSources`) is checked as a file only: the
 * declaration's own problems say what to fix.
 */
export function checkMappings(dir = MAPPINGS_DIR, invalidSources: ReadonlySet<string> = new Set()): Problem[] {
  const problems: Problem[] = [];
  for (const file of yamlIn(dir)) {
    try {
      const mapping = loadMapping(file);
      const source = getSource(mapping.source);
      if (source === undefined && invalidSources.has(mapping.source)) continue;
      if (source === undefined) {
        problems.push({
          file,
          path: 'source',
          message: `no source "${mapping.source}": declare it in schemas/sources/ or use a built-in (probe, contact, survey, social, maintenance)`,
        });
        continue;
      }
      for (const p of mappingProblems(mapping, source)) problems.push(problemAt(file, p));
    } catch (err) {
      if (!(err instanceof YamlFileError)) throw err;
      problems.push(...fromYamlError(err));
    }
  }
  return problems;
}

export interface FileCheck {
  rows: number;
  events: number;
  /** Rows the mapping's own `skip` rules leave out, with their reason: not problems. */
  skipped: number;
  problems: Problem[];
  /** Problems past `maxProblems`, counted but not listed. */
  unlisted: number;
}

/** Every row of a data file through its mapping and its source's validation, sending nothing. */
export async function checkDataFile(
  file: string,
  opts: { mapping?: string; source?: string; mappings?: string },
  maxProblems = 20,
): Promise<FileCheck> {
  const resolved = resolveMapping(file, opts, opts.mappings ?? MAPPINGS_DIR);
  const source = getSource(resolved.source);
  if (source === undefined) throw new ReplaySetupError(`No source "${resolved.source}" here: declare it in schemas/sources/.`);
  if (resolved.mapping === undefined)
    throw new ReplaySetupError('check reads CSV files through a mapping; pass --mapping <file>.');
  const result: FileCheck = { rows: 0, events: 0, skipped: 0, problems: [], unlisted: 0 };
  const fit = mappingProblems(resolved.mapping, source);
  if (fit.length > 0) {
    // Rows through a mapping that does not fit its source would all fail the same way.
    result.problems = fit.map((p) => problemAt(resolved.mappingFile ?? file, p));
    return result;
  }
  const add = (p: Problem) => {
    if (result.problems.length < maxProblems) result.problems.push(p);
    else result.unlisted += 1;
  };
  for await (const row of mapFile(file, resolved.mapping)) {
    result.rows += 1;
    if ('rejected' in row) {
      // A row the mapping rejects on purpose (its `skip` rules) is not a problem of the file.
      if (row.detail !== undefined || row.rejected === 'unreadable row') {
        add({ file, path: `line ${row.line}`, message: `${row.rejected}${row.detail ? `: ${row.detail}` : ''}` });
      } else result.skipped += 1;
      continue;
    }
    const r = source.input.safeParse(row.event, { error: requiredMessage });
    if (r.success) {
      result.events += 1;
      continue;
    }
    for (const e of fieldErrors(0, r.error)) add({ file, path: `line ${row.line}.${e.field}`, message: e.message });
  }
  return result;
}

export interface CheckIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  setExitCode: (code: number) => void;
}

const defaultIo = (): CheckIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

interface Options {
  model: string;
  sources: string;
  mappings: string;
  mapping?: string;
  source?: string;
}

export async function runCheck(file: string | undefined, opts: Options, io: CheckIo): Promise<number> {
  if (file !== undefined && !existsSync(file)) {
    io.stderr(`${file}: no such file. Give the path of a data file to check (or none to check the files in schemas/).\n`);
    return 2;
  }
  const declarations = checkDeclarations(opts.sources);
  const sections: Array<[string, Problem[]]> = [
    [`declarations (${shown(opts.sources)})`, declarations.problems],
    [`model (${shown(opts.model)})`, await checkModel(opts.model, declarations.kpis)],
    [`mappings (${shown(opts.mappings)})`, checkMappings(opts.mappings, declarations.invalidSources)],
  ];
  let invalid = false;
  for (const [what, problems] of sections) {
    if (problems.length === 0) io.stdout(`ok       ${what}\n`);
    else {
      invalid = true;
      io.stdout(`INVALID  ${what}\n`);
      for (const p of problems) io.stderr(`${formatProblem(p)}\n`);
    }
  }
  if (file !== undefined) {
    try {
      const r = await checkDataFile(file, opts);
      const bad = r.problems.length + r.unlisted;
      const skipped = r.skipped > 0 ? `, ${r.skipped} skipped by the mapping's rules` : '';
      io.stdout(`${bad === 0 ? 'ok     ' : 'INVALID'}  ${shown(file)}: ${r.rows} rows, ${r.events} valid events${skipped}\n`);
      for (const p of r.problems) io.stderr(`${formatProblem(p)}\n`);
      if (r.unlisted > 0) io.stderr(`${shown(file)}: … and ${r.unlisted} more problems\n`);
      if (bad > 0) invalid = true;
    } catch (err) {
      if (err instanceof YamlFileError) {
        for (const p of fromYamlError(err)) io.stderr(`${formatProblem(p)}\n`);
        return 1;
      }
      // Which mapping or source to use could not be told: a usage problem (2). The file does
      // not fit its mapping (a missing column, another encoding): the file is invalid (1).
      if (err instanceof ReplaySetupError || err instanceof MappingMismatchError) {
        io.stderr(`${shown(file)}: ${err.message.split('\n').join(' ')}\n`);
        return err instanceof ReplaySetupError ? 2 : 1;
      }
      throw err;
    }
  }
  return invalid ? 1 : 0;
}

export function registerCheckCommand(program: Command, io: CheckIo = defaultIo()): void {
  program
    .command('check [file]')
    .description(
      'Validate the CX model, every source declaration and every mapping (and, given a data file, every row of it through its mapping, sending nothing). One line per problem: file:path: message. Exit 0 valid, 1 invalid, 2 misuse.',
    )
    .option('--model <file>', 'CX model file', process.env.CXV_MODEL_FILE ?? DEFAULT_MODEL_PATH)
    .option('--sources <dir>', 'folder of source declarations', shown(DECLARED_DIR))
    .option('--mappings <dir>', 'folder of mappings', shown(MAPPINGS_DIR))
    .option('-m, --mapping <file>', 'mapping for the data file (default: the one whose files: pattern matches)')
    .option('-s, --source <name>', 'source of the data file (default: the mapping’s)')
    .action(async (file: string | undefined, opts: Options) => {
      io.setExitCode(await runCheck(file, opts, io));
    });
}
