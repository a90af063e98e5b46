import { describe, expect, it } from 'vitest';
import {
  hashToken,
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
