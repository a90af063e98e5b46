import type { Command } from 'commander';
import { CsiMaterializer } from '../aggregator/csi-materializer.ts';
import { loadModel } from '../model/load.ts';
import { loadConfig } from '../shared/config/config.ts';
import { createLogger } from '../shared/log.ts';
import { declaredKpis } from '../shared/sources/registry.ts';
import { openStore } from '../shared/store/store.ts';

/**
 * `cxvitals recompute --from --to`: re-scores the stored CSI of a past range under the
 * model file in force. Rows are keyed by model version: a new version's rows are added
 * beside the old version's, which stay as they were; recomputing under the same
 * version replaces its rows. Run it against the store directly (stop an embedded
 * instance first: chDB holds one data path per process).
 */
export function registerRecomputeCommand(program: Command): void {
  program
    .command('recompute')
    .description('Recompute stored KQIs and CSI for a past range under the current model version.')
    .requiredOption('--from <time>', 'ISO-8601 or epoch ms')
    .requiredOption('--to <time>', 'ISO-8601 or epoch ms')
    .action(async (options: { from: string; to: string }) => {
      const parse = (v: string) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v));
      const from = parse(options.from);
      const to = parse(options.to);
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
        process.stderr.write('recompute: --from and --to must be times (ISO-8601 or epoch ms) with from < to\n');
        process.exit(2);
      }
      const config = loadConfig();
      const log = createLogger(config.logLevel);
      const model = await loadModel(config.model.file, { extraKpis: declaredKpis() });
      const store = await openStore({ ...config.clickhouse, dataDir: config.dataDir, log });
      const materializer = new CsiMaterializer({
        store,
        log,
        model: () => model,
        excuseRetroactive: config.excuseRetroactiveMaintenance,
      });
      const rows = await materializer.recompute(from, to, (done, total) => {
        process.stderr.write(`\rrecompute: ${done}/${total} service × region`);
      });
      process.stderr.write(
        `\nrecompute: ${rows} minute rows written under model version ${model.version} (${model.hash.slice(0, 12)})\n`,
      );
      await store.close();
    });
}
