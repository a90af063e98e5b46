import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bus } from '../../services/shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from '../../services/shared/bus/embedded.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';

/**
 * What an in-process aggregator test stands on: the embedded broker, a migrated chDB
 * store in a fresh folder, and an rdkafka bus to it. `stop()` releases all three.
 */
export interface EmbeddedStack {
  kafka: EmbeddedKafka;
  store: Store;
  bus: Bus;
  busEpoch: string;
  stop(): Promise<void>;
}

export async function startEmbeddedStack(name: string): Promise<EmbeddedStack> {
  const kafka = await startEmbeddedKafka({ brokers: 1, log: silentLogger });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `cxv-${name}-`));
  const store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
  await migrate(store, silentLogger);
  const bus = createBus({ kind: 'rdkafka', brokers: kafka.bootstrapServers, clientId: name, log: silentLogger });
  return {
    kafka,
    store,
    bus,
    busEpoch: `kafka:${kafka.bootstrapServers}`,
    async stop() {
      await bus.close().catch(() => {});
      await kafka.stop();
      await store.close();
    },
  };
}
