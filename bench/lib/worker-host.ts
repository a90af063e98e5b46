import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs one measurement in a child process (bench/worker.ts): each figure gets a clean
 * heap, its own chDB data path (chDB allows one per process) and its own CPU account,
 * so a component is charged only for the work of its own process. The child answers
 * requests over the IPC channel (e.g. "how much CPU have you used?") and reports one
 * result at the end.
 */

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const LOG_FILE = path.join(RESULTS_DIR, 'bench.log');

export interface WorkerOptions {
  /** `--expose-gc`, for heap measurements. */
  exposeGc?: boolean;
  maxOldSpaceMb?: number;
  /** `--cpu-prof` into this folder: a V8 CPU profile of the whole run. */
  cpuProfileDir?: string;
}

type FromChild =
  | { type: 'ready'; value: unknown }
  | { type: 'reply'; id: number; value?: unknown; error?: string }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string };

export class Worker<R> {
  readonly child: ChildProcess;
  readonly result: Promise<R>;
  readonly ready: Promise<unknown>;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(
    readonly name: string,
    params: unknown,
    options: WorkerOptions = {},
  ) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const log = createWriteStream(LOG_FILE, { flags: 'a' });
    log.write(`\n== ${new Date().toISOString()} worker ${name} ${JSON.stringify(params).slice(0, 300)}\n`);
    const execArgv = [
      '--import',
      'tsx',
      ...(options.exposeGc ? ['--expose-gc'] : []),
      ...(options.maxOldSpaceMb ? [`--max-old-space-size=${options.maxOldSpaceMb}`] : []),
      ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    ];
    this.child = fork(path.join(BENCH_DIR, 'worker.ts'), [name, JSON.stringify(params)], {
      cwd: ROOT,
      execArgv,
      // As `npm start` runs the product (package.json): chDB and librdkafka calls share libuv's pool.
      env: {
        ...process.env,
        CXV_LOG_LEVEL: process.env.CXV_LOG_LEVEL ?? 'warn',
        UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    let markReady: (v: unknown) => void = () => {};
    let failReady: (e: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.result = new Promise<R>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        failReady(err);
        for (const p of this.pending.values()) p.reject(err);
        reject(err);
      };
      this.child.on('message', (raw) => {
        const message = raw as FromChild;
        if (message.type === 'ready') markReady(message.value);
        else if (message.type === 'reply') {
          const p = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error !== undefined) p?.reject(new Error(message.error));
          else p?.resolve(message.value);
        } else if (message.type === 'result') {
          settled = true;
          markReady(undefined);
          resolve(message.value as R);
        } else if (message.type === 'error') fail(new Error(`worker ${name} failed: ${message.message}`));
      });
      this.child.on('exit', (code, signal) =>
        fail(new Error(`worker ${name} exited (${code ?? signal}) without a result; see ${LOG_FILE}`)),
      );
    });
    this.ready.catch(() => {});
    this.result.catch(() => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends a request to the child's handler and waits for its answer. */
  request<T>(body: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ type: 'request', id, body });
    });
  }

  /** Asks a long-lived child to finish (it then sends its result). */
  finish(): Promise<R> {
    if (this.child.connected) this.child.send({ type: 'stop' });
    return this.result;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs a worker to completion; kills it if it does not finish within `timeoutMs`. */
export async function runWorker<R>(name: string, params: unknown, options: WorkerOptions & { timeoutMs?: number } = {}) {
  const worker = new Worker<R>(name, params, options);
  const timer = setTimeout(() => worker.kill(), options.timeoutMs ?? 300_000);
  try {
    return await worker.result;
  } finally {
    clearTimeout(timer);
    worker.kill();
  }
}
