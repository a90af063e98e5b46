import { Command } from 'commander';
import { type Pipeline, type Role, startPipeline } from '../app.ts';
import { registerGoalsCommands } from '../goals/cli.ts';
import { ModelError } from '../model/load.ts';
import { registerReplayCommands } from '../replay/cli.ts';
import { startEmbeddedKafka } from '../shared/bus/embedded.ts';
import { type Config, ConfigError, describeConfig, EMBEDDED_BROKER_BACKLOG_BYTES, loadConfig } from '../shared/config/config.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { YamlFileError } from '../shared/sources/yaml-file.ts';
import { checkDeclarations, checkModel, formatProblem, registerCheckCommand } from './check.ts';
import { registerProvisionCommand } from './provision.ts';
import { registerRecomputeCommand } from './recompute.ts';
import { registerTokensCommands } from './tokens.ts';

/** `cxvitals <command>`: the same tasks a person does from a terminal. */

const program = new Command()
  .name('cxvitals')
  .description('Customer-experience vital signs: streaming KPIs, KQIs, CSI, Serviceability and Availability.');

export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** What a person reads when a command fails: the error's own message, a stack only when asked for. */
export function cliErrorMessage(err: unknown): string {
  if (err instanceof YamlFileError) return err.problemLines().join('\n');
  if (err instanceof ConfigError || err instanceof ModelError) return err.message;
  const e = err instanceof Error ? err : new Error(String(err));
  if (process.env.CXV_DEBUG === '1') return e.stack ?? e.message;
  return `cxvitals: ${e.message} (CXV_DEBUG=1 prints the stack trace)`;
}

function banner(pipeline: Pipeline, config: Config, roles: readonly Role[]): string {
  const url = pipeline.url;
  const lines = [
    '',
    `cxvitals is running (${roles.join(', ')})`,
    ...(roles.includes('api')
      ? [`  dashboard     ${url}/${pipeline.readDemoToken ? `?token=${pipeline.readDemoToken}  (opens signed in)` : ''}`]
      : []),
    `  health        ${url}/healthz`,
    `  metrics       ${url}/metrics`,
    ...(roles.includes('api')
      ? [
          `  API           ${url}/api/v1/  (OpenAPI: ${url}/api/v1/openapi.json)`,
          `  vital signs   ${url}/api/v1/csi?service=broadband&step=5m`,
          `  availability  ${url}/api/v1/availability?service=broadband&region=north&step=1m`,
        ]
      : []),
    `  Kafka         ${config.kafka.mode === 'embedded' ? 'embedded mock cluster (in memory)' : 'external'} at ${pipeline.brokers}, client ${config.kafka.client}`,
    `  ClickHouse    ${config.clickhouse.mode === 'embedded' ? `embedded chDB, data in ${config.dataDir}` : `external at ${pipeline.store.location}`}`,
    ...(roles.includes('ingest') ? [`  simulator     ${config.simulate ? 'on (CXV_SIMULATE=0 turns it off)' : 'off'}`] : []),
    ...(pipeline.readDemoToken
      ? [
          `  read token    ${pipeline.readDemoToken}  (DEMO token, every read scope: Authorization: Bearer …; set CXV_READ_TOKENS outside demos)`,
        ]
      : []),
    ...(pipeline.ingestDemoToken
      ? [`  ingest token  ${pipeline.ingestDemoToken}  (DEMO token for every source; set CXV_INGEST_TOKENS outside demos)`]
      : []),
    ...(pipeline.goalsDemoToken
      ? [
          `  goals token   ${pipeline.goalsDemoToken}  (DEMO planner token, admin rights; set CXV_GOALS_ADMIN_TOKEN outside demos)`,
        ]
      : []),
    ...(config.kafka.mode === 'embedded' || config.clickhouse.mode === 'embedded'
      ? [
          '  WARNING       embedded demo mode: reads and ingest accept generated demo tokens, Kafka keeps data in memory only. Not for production.',
        ]
      : []),
    'Press Ctrl-C to stop (open windows are flushed first).',
    '',
  ];
  return lines.join('\n');
}

/** The checks of `cxvitals check` on what a start reads (declarations, model): refuse to start on any problem. */
async function refuseInvalidFiles(config: Config): Promise<void> {
  const declarations = checkDeclarations();
  const problems = [...declarations.problems, ...(await checkModel(config.model.file, declarations.kpis))];
  if (problems.length === 0) return;
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  process.stderr.write('cxvitals did not start: fix the problems above (`cxvitals check` lists them without starting).\n');
  process.exit(1);
}

async function run(roles: readonly Role[]): Promise<void> {
  const config = configOrExit();
  await refuseInvalidFiles(config);
  const log: Logger = createLogger(config.logLevel);
  const pipeline = await startPipeline(config, log, { roles }).catch((err: Error) => {
    log.fatal({ err }, 'start failed');
    const hint = /EADDRINUSE/.test(err.message) ? ' Another process uses that port: set CXV_PORT.' : '';
    process.stderr.write(`\ncxvitals could not start: ${err.message}${hint}\n`);
    process.exit(1);
  });
  process.stdout.write(`${banner(pipeline, config, roles)}\n`);
  let stoppingSince: number | undefined;
  const stop = async (signal: string) => {
    // `npm start` under a process-group SIGTERM delivers the signal twice (npm forwards it):
    // only a second signal a moment later (a second Ctrl-C) forces the exit.
    if (stoppingSince !== undefined && Date.now() - stoppingSince < 2000) return;
    if (stoppingSince !== undefined) {
      process.stderr.write('Stopping already; forcing exit.\n');
      process.exit(130);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'stopping: intake, then windows flush, commit, store');
    await pipeline.stop();
    log.info({}, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

program
  .command('start')
  .description(
    'Run the whole pipeline in one process (embedded Kafka and ClickHouse unless KAFKA_BROKERS / CLICKHOUSE_URL are set).',
  )
  .action(() => run(['ingest', 'aggregator', 'api', 'goals']));
program
  .command('all')
  .description('Same as start.')
  .action(() => run(['ingest', 'aggregator', 'api', 'goals']));
program
  .command('ingest')
  .description('Run only the ingest edge (POST /api/v1/events/*), with /healthz and /metrics.')
  .action(() => run(['ingest']));
program
  .command('aggregator')
  .description('Run only the aggregator (consumer group member) and the CSI materializer, with /healthz and /metrics.')
  .action(() => run(['aggregator']));
program
  .command('api')
  .description('Run only the read API (KPIs, KQIs, CSI, Availability).')
  .action(() => run(['api']));

program
  .command('broker')
  .description('Run an embedded Kafka (librdkafka mock cluster, in memory) on its own, for local multi-process setups and tests.')
  .option('--brokers <n>', 'brokers in the mock cluster', '1')
  .action(async (options: { brokers: string }) => {
    const log = createLogger(process.env.CXV_LOG_LEVEL ?? 'info');
    const broker = await startEmbeddedKafka({ brokers: Number(options.brokers), log });
    process.stdout.write(`KAFKA_BROKERS=${broker.bootstrapServers}\n`);
    // It keeps 5 MiB a partition and drops the oldest beyond: ingest must know (backlog.ts).
    process.stdout.write(
      `This broker keeps at most 5 MiB per partition: run ingest with CXV_INGEST_MAX_BUS_BACKLOG_BYTES=${EMBEDDED_BROKER_BACKLOG_BYTES} ` +
        'so it refuses load (429) before the broker drops events the aggregator has not committed.\n',
    );
    const stop = async () => {
      await broker.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
    setInterval(() => {}, 1 << 30);
  });

program
  .command('config')
  .description('Print the configuration table (every variable, its default and meaning).')
  .action(() => {
    process.stdout.write(`${describeConfig()}\n`);
  });

registerCheckCommand(program);
registerRecomputeCommand(program);
registerTokensCommands(program, configOrExit);
registerProvisionCommand(program);
registerReplayCommands(program);
registerGoalsCommands(program);
// `cxvitals goals` alone runs the goals service; `cxvitals goals list|create|…` are the planner's commands.
program.commands
  .find((c) => c.name() === 'goals')
  ?.description('Without a subcommand: run only the goals service and its API. With one: the planner commands below.')
  .action(() => run(['goals']));

// Every CLI error is one clear line (or one line per problem), never a stack trace.
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`${cliErrorMessage(err)}\n`);
  process.exit(err instanceof ConfigError || err instanceof YamlFileError ? 2 : 1);
}
