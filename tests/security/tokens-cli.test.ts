import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../../services/shared/auth/tokens.ts';
import { cxvitals } from '../deploy/cli.ts';

/** `cxvitals tokens issue` and `cxvitals tokens list`: tokens per person, listed without secrets. */

describe('cxvitals tokens', () => {
  it('issue prints a token and the entry holding its hash; list shows owner, scopes and expiry, never the token', async () => {
    const issued = await cxvitals([
      'tokens',
      'issue',
      '--scopes',
      'read:vitals,read:events',
      '--owner',
      'alice',
      '--expires',
      '2027-03-31T00:00:00Z',
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    const token = /^token {3}(cxr_[A-Za-z0-9_-]{43})$/m.exec(issued.stdout)?.[1] ?? '';
    const entry = /^entry {3}(.+)$/m.exec(issued.stdout)?.[1] ?? '';
    expect(entry).toBe(`read:vitals+read:events:${hashToken(token)} owner=alice expires=2027-03-31T00:00:00.000Z`);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-tokens-'));
    const file = path.join(dir, 'read-tokens');
    await writeFile(
      file,
      `# the NOC\n${entry}\nread:metrics:${hashToken('other')} owner=prometheus expires=2020-01-01T00:00:00Z\n`,
    );
    const listed = await cxvitals(['tokens', 'list'], { CXV_READ_TOKENS_FILE: file });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n').slice(0, 3)).toEqual([
      'owner       scopes                   expires                             sha256',
      `alice       read:vitals+read:events  2027-03-31T00:00:00.000Z            ${hashToken(token).slice(0, 12)}…`,
      `prometheus  read:metrics             2020-01-01T00:00:00.000Z (EXPIRED)  ${hashToken('other').slice(0, 12)}…`,
    ]);
    expect(listed.stdout).not.toContain(token);
  });

  it('refuses an unknown scope with a message naming the valid ones', async () => {
    const res = await cxvitals(['tokens', 'issue', '--scopes', 'write:all', '--owner', 'x']);
    expect([res.code, res.stderr.trim()]).toEqual([2, 'Unknown scope(s) write:all: use read:vitals, read:events, read:metrics.']);
  });
});
