import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadModel } from '../../services/model/index.ts';
import { scoreCsi } from '../../services/model/score.ts';
import type { KafkaClientKind } from '../../services/shared/bus/bus.ts';
import { declaredKpis } from '../../services/shared/sources/registry.ts';
import { startAltConsumer } from '../alternative/consumer.ts';
import { altKpis } from '../alternative/kpi-sql.ts';
import { createAltTable } from '../alternative/raw-table.ts';
import type { Channel } from '../lib/channel.ts';
import { sample } from '../lib/cpu.ts';
import { aggregatorTopics, benchBus, benchConfig, benchLog, freshStore, uniqueGroup } from '../lib/setup.ts';

/**
 * The alternative, live: it loads the same topics the pipeline reads into raw typed rows
 * and answers `GET /window?service&region&from&to` with that window's KPIs computed by
 * SQL and its CSI scored by the same model, as a read API would. The freshness
 * measurement polls it side by side with the pipeline's API.
 */
export async function run(p: { brokers: string; client: KafkaClientKind }, channel: Channel): Promise<{ stopped: true }> {
  const log = benchLog();
  const { store, dataDir } = await freshStore('alt-live', log);
  await createAltTable(store);
  const model = await loadModel(benchConfig({ CXV_DATA_DIR: dataDir }).model.file, { extraKpis: declaredKpis() });
  const bus = benchBus(p.client, p.brokers, log);
  const consumer = await startAltConsumer(bus, store, { groupId: uniqueGroup('alt-live'), topics: aggregatorTopics() });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = {
      service: url.searchParams.get('service') ?? '',
      region: url.searchParams.get('region') ?? '',
      from: Number(url.searchParams.get('from')),
      to: Number(url.searchParams.get('to')),
      stepSec: 60,
    };
    altKpis(store, q)
      .then((buckets) => {
        const b = buckets.find((x) => x.start === q.from);
        const body = b
          ? { events: b.events, samples: b.samples, csi: scoreCsi(model, b.kpis).csi }
          : { events: 0, samples: 0, csi: null };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      })
      .catch((err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  channel.serve(() => sample());
  channel.ready({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  await channel.stopped;
  server.close();
  await consumer.close();
  await bus.close();
  await store.close();
  return { stopped: true };
}
