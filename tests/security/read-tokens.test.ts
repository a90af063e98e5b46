import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hashToken,
  loadReadTokens,
  MASK,
  maskPersonalData,
  parseReadTokenEntries,
  parseReadTokenEntry,
  ReadTokens,
  ReadTokensError,
} from '../../services/shared/auth/tokens.ts';

/** Read token entries (CXV_READ_TOKENS / CXV_READ_TOKENS_FILE) and what a token grants. */

const HASH = hashToken('cxr_example-token');

describe('read token entries', () => {
  it('parses scopes, owner and expiry; only the hash is kept', () => {
    expect(parseReadTokenEntry(`read:vitals+read:events:${HASH} owner=noc-wall expires=2027-03-31T00:00:00Z`)).toEqual({
      scopes: ['read:vitals', 'read:events'],
      sha256: HASH,
      owner: 'noc-wall',
      expiresAt: Date.parse('2027-03-31T00:00:00Z'),
    });
    expect(parseReadTokenEntry(`read:metrics:${HASH}`)).toEqual({
      scopes: ['read:metrics'],
      sha256: HASH,
      owner: undefined,
      expiresAt: undefined,
    });
  });

  it('refuses an unknown scope, a bad expiry or a plaintext token, without echoing the entry', () => {
    expect(parseReadTokenEntry(`write:vitals:${HASH}`)).toMatch(/^not an entry of the form/);
    expect(parseReadTokenEntry(`read:vitals:${HASH} expires=tomorrow`)).toBe(
      'expires= must be an ISO-8601 time such as 2027-03-31T00:00:00Z',
    );
    expect(() => parseReadTokenEntries('# a file\nread:vitals:cxr_plaintext-secret\n', 'CXV_READ_TOKENS_FILE=/run/x')).toThrow(
      ReadTokensError,
    );
    try {
      parseReadTokenEntries('read:vitals:cxr_plaintext-secret', 'CXV_READ_TOKENS');
    } catch (err) {
      expect((err as Error).message).not.toContain('cxr_plaintext-secret');
      expect((err as Error).message).toMatch(/^CXV_READ_TOKENS: line 1: /);
    }
  });

  it('a token is valid until its expiry instant, then refused as expired', () => {
    let now = Date.parse('2027-03-30T23:59:59.999Z');
    const tokens = ReadTokens.fromEntries(
      parseReadTokenEntries(`read:vitals:${HASH} owner=alice expires=2027-03-31T00:00:00Z`, 'test'),
      () => now,
    );
    const before = tokens.check('cxr_example-token');
    expect(before.ok && [...before.principal.scopes]).toEqual(['read:vitals']);
    expect(before.ok && before.principal.owner).toBe('alice');
    now += 1;
    expect(tokens.check('cxr_example-token')).toMatchObject({ ok: false, code: 'AUTH_TOKEN_EXPIRED' });
    expect(tokens.check('cxr_other')).toMatchObject({ ok: false, code: 'AUTH_INVALID_TOKEN' });
  });
});

describe('CXV_READ_TOKENS_FILE', () => {
  it('adds its entries; a missing or empty file stops the start naming the variable, as ingest tokens do', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-read-tokens-'));
    const good = path.join(dir, 'good');
    const empty = path.join(dir, 'empty');
    await writeFile(good, `# mounted secret\nread:vitals:${HASH} owner=noc\n`);
    await writeFile(empty, '# nothing yet\n');
    const tokens = await loadReadTokens({ tokens: [], tokensFile: good });
    expect(tokens.check('cxr_example-token')).toMatchObject({ ok: true, principal: { owner: 'noc' } });
    const load = (file: string) => loadReadTokens({ tokens: [], tokensFile: file }).catch((e: unknown) => e);
    const [missing, none] = await Promise.all([load(path.join(dir, 'nope')), load(empty)]);
    expect([missing, none].map((e) => (e as ReadTokensError).code)).toEqual([
      'READ_TOKENS_FILE_UNREADABLE',
      'READ_TOKENS_INVALID',
    ]);
    expect((missing as Error).message).toMatch(/^CXV_READ_TOKENS_FILE=.*nope cannot be read \(.*\); fix the path or unset it\.$/);
    expect((none as Error).message).toBe(
      `CXV_READ_TOKENS_FILE=${empty} holds no token entry; an empty file would lock every reader out.`,
    );
  });
});

describe('masking without read:events', () => {
  it('hides customer ids, agent ids, authors and free text, and keeps every other field as it is', () => {
    expect(
      maskPersonalData({
        customerId: 'c-1',
        agentId: 'a-7',
        author: '@jane',
        text: 'hi',
        comment: 'x',
        waitSec: 31,
        reason: null,
      }),
    ).toEqual({ customerId: MASK, agentId: MASK, author: MASK, text: MASK, comment: MASK, waitSec: 31, reason: null });
  });
});
