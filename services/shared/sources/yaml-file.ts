import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/**
 * YAML files written by people (source declarations, replay mappings), checked by a zod
 * schema. Every problem is reported at once with its dotted path and, where the YAML has
 * it, its line — "fields.abandoned.map.AGENT (line 41): expected boolean" — so a data
 * engineer fixes the file in one pass instead of one error per run.
 */

export interface FileIssue {
  /** Dotted path inside the file, e.g. `kpis.1.field`; `(file)` for the whole document. */
  path: string;
  line?: number;
  message: string;
}

export class YamlFileError extends Error {
  constructor(
    readonly file: string,
    readonly what: string,
    readonly issues: FileIssue[],
    readonly hint: string,
  ) {
    const lines = issues.map((i) => `  ${i.path}${i.line === undefined ? '' : ` (line ${i.line})`}: ${i.message}`);
    super(`${displayPath(file)} is not a valid ${what}:\n${lines.join('\n')}\n${hint}`);
    this.name = 'YamlFileError';
  }

  /** One line per problem, `file:path (line N): message`, as `cxvitals check` prints them. */
  problemLines(): string[] {
    return this.issues.map(
      (i) => `${displayPath(this.file)}:${i.path}${i.line === undefined ? '' : ` (line ${i.line})`}: ${i.message}`,
    );
  }
}

const displayPath = (file: string): string => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
};

export const joinPath = (p: ReadonlyArray<PropertyKey>): string => (p.length === 0 ? '(file)' : p.map(String).join('.'));

export interface YamlDoc<T> {
  data: T;
  /** The line of a dotted path (or of its nearest enclosing key), for checks made after parsing. */
  lineOf(path: string): number | undefined;
}

/** Parses YAML text and checks it; throws YamlFileError naming every problem. */
export function parseYamlDoc<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  what: string,
  hint: string,
): YamlDoc<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new YamlFileError(
      file,
      what,
      doc.errors.map((e) => ({
        path: '(file)',
        line: lineCounter.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? '',
      })),
      hint,
    );
  }
  const lineAt = (path: readonly PropertyKey[]): number | undefined => {
    // A missing key has no node: point at the nearest enclosing one that exists.
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const node = doc.getIn(path.slice(0, depth) as unknown[], true);
      const offset = isNode(node) ? node.range?.[0] : undefined;
      if (offset !== undefined) return lineCounter.linePos(offset).line;
    }
    return undefined;
  };
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    const issues = result.error.issues.map((issue): FileIssue => {
      const line = lineAt(issue.path);
      return { path: joinPath(issue.path), ...(line === undefined ? {} : { line }), message: issue.message };
    });
    throw new YamlFileError(file, what, issues, hint);
  }
  return {
    data: result.data,
    lineOf: (path) => (path === '(file)' ? undefined : lineAt(path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)))),
  };
}

export function parseYamlText<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  what: string,
  hint: string,
): z.output<S> {
  return parseYamlDoc(text, file, schema, what, hint).data;
}

function readText(file: string, what: string, hint: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new YamlFileError(file, what, [{ path: '(file)', message: `cannot read it: ${(err as Error).message}` }], hint);
  }
}

export function readYamlDoc<S extends z.ZodType>(file: string, schema: S, what: string, hint: string): YamlDoc<z.output<S>> {
  return parseYamlDoc(readText(file, what, hint), file, schema, what, hint);
}

export function readYamlFile<S extends z.ZodType>(file: string, schema: S, what: string, hint: string): z.output<S> {
  return readYamlDoc(file, schema, what, hint).data;
}
