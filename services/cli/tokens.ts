import type { Command } from 'commander';
import { loadIngestAuth } from '../ingest/auth.ts';
import { generateReadToken, loadReadTokens, READ_SCOPES, type ReadScope, ReadTokensError } from '../shared/auth/tokens.ts';
import type { Config } from '../shared/config/config.ts';

/**
 * `cxvitals tokens list`: the read tokens this configuration accepts (scopes, owner,
 * expiry, the first hex digits of the hash), never a secret: configuration holds only
 * hashes. `cxvitals tokens issue`: a new read token and the entry to configure for it.
 */

export function registerTokensCommands(program: Command, config: () => Config): void {
  const tokens = program
    .command('tokens')
    .description('Read tokens: list the configured ones, issue a new one (docs/security.md).');

  tokens
    .command('list')
    .description('List the read tokens of CXV_READ_TOKENS and CXV_READ_TOKENS_FILE, and the ingest token grants (no secrets).')
    .action(async () => {
      const c = config();
      try {
        const read = await loadReadTokens(c.read);
        const now = Date.now();
        const rows = read.demo
          ? [['(demo)', READ_SCOPES.join('+'), 'generated at each start, printed in the banner', '-']]
          : read.entries.map((e) => [
              e.owner ?? '(no owner)',
              e.scopes.join('+'),
              e.expiresAt === undefined
                ? 'never'
                : `${new Date(e.expiresAt).toISOString()}${e.expiresAt <= now ? ' (EXPIRED)' : ''}`,
              `${e.sha256.slice(0, 12)}…`,
            ]);
        process.stdout.write(table(['owner', 'scopes', 'expires', 'sha256'], rows));
        const ingest = await loadIngestAuth(c.ingest);
        process.stdout.write(
          `\ningest tokens: ${ingest.demo ? 'demo (generated at each start)' : `grants for ${ingest.grants.join(', ')}`}\n`,
        );
      } catch (err) {
        if (err instanceof ReadTokensError) {
          process.stderr.write(`${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
    });

  tokens
    .command('issue')
    .description(
      'Make a new read token: prints the token (give it to its holder) and the entry to add to CXV_READ_TOKENS(_FILE).',
    )
    .requiredOption('--scopes <list>', `comma-separated, from ${READ_SCOPES.join(', ')}`)
    .requiredOption('--owner <name>', 'who holds it (a person or a screen): shown by `tokens list`')
    .option('--expires <time>', 'ISO-8601 time after which it is refused, e.g. 2027-03-31T00:00:00Z')
    .action((options: { scopes: string; owner: string; expires?: string }) => {
      const scopes = options.scopes.split(',').map((s) => s.trim());
      const unknown = scopes.filter((s) => !(READ_SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) fail(`Unknown scope(s) ${unknown.join(', ')}: use ${READ_SCOPES.join(', ')}.`);
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(options.owner)) fail('--owner takes 1-64 letters, digits, ".", "_", "@" or "-".');
      const expiresAt = options.expires === undefined ? undefined : Date.parse(options.expires);
      if (expiresAt !== undefined && Number.isNaN(expiresAt))
        fail('--expires must be an ISO-8601 time such as 2027-03-31T00:00:00Z.');
      const issued = generateReadToken(scopes as ReadScope[], { owner: options.owner, ...(expiresAt ? { expiresAt } : {}) });
      process.stdout.write(`token   ${issued.token}\nentry   ${issued.entry}\n`);
      process.stdout.write(
        'Give the token to its holder once; configure only the entry (it holds the hash). Restart to apply.\n',
      );
    });
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}
