import { Command } from 'commander';
import { startPipeline } from '../app.ts';
import { ConfigError, describeConfig, loadConfig } from '../shared/config/config.ts';
import { createLogger } from '../shared/log.ts';

/** `cxvitals <command>`: the same tasks a person does from a terminal. */

const program = new Command()
  .name('cxvitals')
  .description('Customer-experience vital signs: streaming KPIs, KQIs, CSI, Serviceability and Availability.');

program
  .command('start')
  .description('Run the whole pipeline (embedded Kafka and ClickHouse unless KAFKA_BROKERS / CLICKHOUSE_URL are set).')
  .action(async () => {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig();
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const log = createLogger(config.logLevel);
    const pipeline = await startPipeline(config, log).catch((err: Error) => {
      log.fatal({ err }, 'start failed');
      process.stderr.write(`\ncxvitals could not start: ${err.message}\n`);
      process.exit(1);
    });
    const lines = [
      '',
      'cxvitals is running',
      `  dashboard     ${pipeline.url}/`,
      `  health        ${pipeline.url}/healthz`,
      `  metrics       ${pipeline.url}/metrics`,
      `  API           ${pipeline.url}/api/v1/  (OpenAPI: ${pipeline.url}/api/v1/openapi.json)`,
      `  availability  ${pipeline.url}/api/v1/availability?service=broadband&region=north&step=1m`,
      `  Kafka         ${config.kafka.mode === 'embedded' ? 'embedded mock cluster (in memory)' : 'external'} at ${pipeline.brokers}, client ${config.kafka.client}`,
      `  ClickHouse    ${config.clickhouse.mode === 'embedded' ? `embedded chDB, data in ${config.dataDir}` : `external at ${pipeline.store.location}`}`,
      `  simulator     ${config.simulate ? 'on (CXV_SIMULATE=0 turns it off)' : 'off'}`,
      ...(config.kafka.mode === 'embedded' || config.clickhouse.mode === 'embedded'
        ? [
            '  WARNING       embedded demo mode: ingest needs no credentials and Kafka keeps data in memory only. Not for production.',
          ]
        : []),
      'Press Ctrl-C to stop (open windows are flushed first).',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        process.stderr.write('Stopping already; press Ctrl-C again… forcing exit.\n');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping: intake, then windows flush, commit, store');
      await pipeline.stop();
      log.info({}, 'stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('config')
  .description('Print the configuration table (every variable, its default and meaning).')
  .action(() => {
    process.stdout.write(`${describeConfig()}\n`);
  });

await program.parseAsync(process.argv);
