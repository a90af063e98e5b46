import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testReadTokenEntry } from './auth.ts';

/** Child processes of the cxvitals CLI for multi-process tests (broker, aggregator, …). */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliProcess {
  child: ChildProcess;
  /** Resolves with the first stdout line matching the pattern's group 1. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/**
 * Runs `cxvitals <args>` as a process of its own. `nodeArgs` go to Node itself (a CPU
 * profile: `--cpu-prof`, which NODE_OPTIONS does not take).
 */
export function spawnCli(args: string[], env: Record<string, string>, logFile: string, nodeArgs: string[] = []): CliProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'services/cli/main.ts'), ...args], {
    cwd: ROOT,
    // Reads need a token: children accept the test process's read token (tests/support/auth.ts).
    env: {
      ...process.env,
      CI: '',
      CXV_LOG_LEVEL: 'warn',
      UV_THREADPOOL_SIZE: '16',
      CXV_READ_TOKENS: testReadTokenEntry(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  let stdout = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    log.write(chunk);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} from cxvitals ${args.join(' ')} within ${timeoutMs} ms (see ${logFile})`)),
          timeoutMs,
        );
        const check = () => {
          const match = pattern.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1] ?? match[0]);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`cxvitals ${args.join(' ')} exited with ${child.exitCode} (see ${logFile})`));
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}
