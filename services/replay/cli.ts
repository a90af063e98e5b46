import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { fieldErrors, requiredMessage } from '../shared/sources/common.ts';
import { assertDeclaredSourcesLoaded, getSource } from '../shared/sources/registry.ts';
import { YamlFileError } from '../shared/sources/yaml-file.ts';
import { MappingMismatchError, mapFile, passThrough } from './map-file.ts';
import { compileMapping } from './mapping/mapper.ts';
import { errorReason, type ReplaySummary, replay } from './replay.ts';
import { formatProgress, formatSummary } from './report.ts';
import { mappingProblems, ReplaySetupError, resolveMapping } from './resolve.ts';

/**
 * `cxvitals replay <file>`: a CSV or NDJSON file (gzip or not) through a mapping into the
 * ingest endpoint's history path. Exit codes: 0 the whole file was answered by the server
 * (some events may have been rejected: see the summary), 1 the server failed or refused
 * the run, 2 the file or the mapping could not be used.
 */

export interface ReplayIo {
  stderr: (text: string) => void;
  stdout: (text: string) => void;
  env: Record<string, string | undefined>;
  isTty: boolean;
  /** Where the exit code goes (process.exitCode by default; tests capture it). */
  setExitCode: (code: number) => void;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const defaultIo = (): ReplayIo => ({
  stderr: (t) => process.stderr.write(t),
  stdout: (t) => process.stdout.write(t),
  env: process.env,
  isTty: Boolean(process.stderr.isTTY),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

const DEFAULT_URL = 'http://localhost:8080';

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0 (events per second)');
  return n;
};

interface Options {
  source?: string;
  mapping?: string;
  rate?: number;
  url?: string;
  token?: string;
  batch: number;
  dryRun?: boolean;
  backfill: boolean;
  maxRetries: number;
  json?: boolean;
}

export function registerReplayCommands(program: Command, io: ReplayIo = defaultIo()): void {
  program
    .command('replay <file>')
    .description(
      "Replay a CSV or NDJSON file (gzip or not) through a mapping into ingest, on the backfill path: windows follow the file's own times, and replaying twice changes no count.",
    )
    .option('-s, --source <name>', "source to post to (default: the mapping's source)")
    .option(
      '-m, --mapping <file>',
      'mapping file (default: the one in schemas/mappings/ whose files: pattern matches; none for NDJSON events)',
    )
    .option('--rate <n>', 'at most n events per second', positive)
    .option('--url <url>', `cxvitals server (default: $CXV_URL, else ${DEFAULT_URL})`)
    .option('--token <token>', 'ingest token (default: $CXV_TOKEN)')
    .option('--batch <n>', 'events per request', positiveInt('--batch'), 500)
    .option('--dry-run', 'map and validate locally; send nothing')
    .option('--no-backfill', 'post to the live path instead of ?backfill=true')
    .option('--max-retries <n>', 'retries per batch on 429/503/5xx or network errors', positiveInt('--max-retries'), 5)
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (file: string, opts: Options) => {
      io.setExitCode(await runReplay(file, opts, io));
    });
}

async function runReplay(file: string, opts: Options, io: ReplayIo): Promise<number> {
  let summary: ReplaySummary;
  try {
    assertDeclaredSourcesLoaded();
    const resolved = resolveMapping(file, opts);
    const definition = getSource(resolved.source);
    const shown = resolved.mappingFile ? path.relative(process.cwd(), resolved.mappingFile) : undefined;
    if (resolved.mapping && definition) {
      const problems = mappingProblems(resolved.mapping, definition);
      if (problems.length > 0)
        throw new ReplaySetupError(`${shown} does not fit source "${resolved.source}":\n  ${problems.join('\n  ')}`);
    }
    if (!definition) io.stderr(`note: source "${resolved.source}" is not known here; the server decides whether it exists.\n`);
    if (shown) io.stderr(`mapping ${shown}\n`);
    const rows = resolved.mapping ? mapFile(file, compileMapping(resolved.mapping)) : passThrough(file);
    summary = await replay({
      file,
      source: resolved.source,
      rows,
      url: opts.url ?? io.env.CXV_URL ?? DEFAULT_URL,
      token: opts.token ?? io.env.CXV_TOKEN,
      backfill: opts.backfill,
      batchSize: opts.batch,
      rate: opts.rate,
      dryRun: opts.dryRun === true,
      maxRetries: opts.maxRetries,
      maxRetryWaitMs: 60_000,
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.sleep ? { sleep: io.sleep } : {}),
      validate: definition
        ? (event) => {
            const r = definition.input.safeParse(event, { error: requiredMessage });
            const [first] = r.success ? [] : fieldErrors(0, r.error);
            return first ? { reason: errorReason(first), detail: first.message } : undefined;
          }
        : undefined,
      onRetry: ({ attempt, waitMs, why }) =>
        io.stderr(`\n${why}; retry ${attempt}/${opts.maxRetries} in ${(waitMs / 1000).toFixed(1)} s\n`),
      onProgress: (p) =>
        io.stderr(
          io.isTty ? `\r${formatProgress(p, opts.dryRun === true)}\x1b[K` : `${formatProgress(p, opts.dryRun === true)}\n`,
        ),
      progressEveryMs: io.isTty ? 500 : 5000,
    });
  } catch (err) {
    if (err instanceof YamlFileError) {
      io.stderr(`${err.problemLines().join('\n')}\n`);
      return 2;
    }
    if (err instanceof ReplaySetupError || err instanceof MappingMismatchError) {
      io.stderr(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  io.stderr(`${io.isTty ? '\n' : ''}${formatSummary(summary)}\n`);
  if (opts.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  if (!summary.failure) return 0;
  return summary.failure.kind === 'server' ? 1 : 2;
}
