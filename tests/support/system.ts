import { execFileSync } from 'node:child_process';

/**
 * Tests that need something from the system (a Docker engine, promtool, Chromium)
 * skip with a visible reason on a developer's machine that lacks it — and FAIL under
 * CI=true, where .ci/run is responsible for installing it. So CI can never pass by
 * skipping.
 */
export function requireSystem(what: string, available: boolean, howToGet: string): boolean {
  if (available) return true;
  const reason = `${what} is not available: ${howToGet}`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI=true and ${reason}. .ci/run must provide it; refusing to skip.`);
  }
  process.stderr.write(`SKIPPED (system dependency): ${reason}\n`);
  return false;
}

export function hasCommand(command: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
