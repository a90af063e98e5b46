import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/processes.ts';

const run = promisify(execFile);

/** Runs `cxvitals <args>` (the real CLI entry) to completion: exit code, stdout, stderr. */
export async function cxvitals(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'services/cli/main.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, CI: '', CXV_LOG_LEVEL: 'warn', ...env },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
