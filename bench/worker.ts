import { parentChannel } from './lib/channel.ts';

/**
 * Child-process entry of the benchmark: `worker.ts <name> <params as JSON>` runs one
 * measurement (bench/workers/<name>.ts) and sends its result to the parent.
 */

const WORKERS = {
  preload: () => import('./workers/preload.ts'),
  'raw-consume': () => import('./workers/raw-consume.ts'),
  'raw-produce': () => import('./workers/raw-produce.ts'),
  aggregator: () => import('./workers/aggregator.ts'),
  alternative: () => import('./workers/alternative.ts'),
  server: () => import('./workers/server.ts'),
  'alt-server': () => import('./workers/alt-server.ts'),
  memory: () => import('./workers/memory.ts'),
  'engine-growth': () => import('./workers/engine-growth.ts'),
  'reads-server': () => import('./workers/reads-server.ts'),
  'raw-insert': () => import('./workers/raw-insert.ts'),
  'read-scale': () => import('./workers/read-scale.ts'),
} as const;

type WorkerName = keyof typeof WORKERS;

const [name = '', params = '{}'] = process.argv.slice(2);
const channel = parentChannel();
try {
  if (!Object.hasOwn(WORKERS, name)) throw new Error(`no bench worker named ${name}`);
  const module = await WORKERS[name as WorkerName]();
  const value = await module.run(JSON.parse(params), channel);
  process.send?.({ type: 'result', value }, () => process.exit(0));
} catch (err) {
  process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
}
