import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { entriesWithFile } from './token-file.ts';

/**
 * Read tokens: who may read what. A token is a long random bearer string; configuration
 * holds only its SHA-256, with the scopes it grants, when it expires and whose it is:
 *
 *   read:vitals+read:events:<sha256hex> owner=noc-wall expires=2027-03-31T00:00:00Z
 *
 * Entries come from CXV_READ_TOKENS (comma-separated) and CXV_READ_TOKENS_FILE (one per
 * line, `#` comments). As for ingest tokens (services/ingest/auth.ts), SHA-256 and not a
 * slow hash: a token is 256 random bits, nothing to brute-force, and every request
 * checks one. The presented token's hash is compared with every entry in constant time.
 *
 * With no entry configured (the embedded demo), the process makes one random token with
 * every read scope (`demoReadCredentials`) and the start-up banner prints it: reads are
 * never open, not even in the demo.
 */

export const READ_SCOPES = ['read:vitals', 'read:events', 'read:metrics'] as const;
export type ReadScope = (typeof READ_SCOPES)[number];

export interface ReadTokenEntry {
  scopes: ReadScope[];
  /** SHA-256 of the token, lowercase hex. */
  sha256: string;
  /** Who holds it (a person or a screen); shown by `cxvitals tokens list`, logged, never secret. */
  owner: string | undefined;
  /** Epoch ms after which the token is refused; undefined = no expiry. */
  expiresAt: number | undefined;
}

/** Who a request is, once its token was recognised. */
export interface ReadPrincipal {
  scopes: ReadonlySet<ReadScope>;
  owner: string;
  /** The token's hash: a rate-limit and stream-cap key that never reveals the token. */
  tokenHash: string;
  expiresAt: number | undefined;
}

export type TokenCheck =
  | { ok: true; principal: ReadPrincipal }
  | { ok: false; code: 'AUTH_INVALID_TOKEN' | 'AUTH_TOKEN_EXPIRED'; message: string };

export class ReadTokensError extends Error {
  constructor(
    readonly code: 'READ_TOKENS_INVALID' | 'READ_TOKENS_FILE_UNREADABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReadTokensError';
  }
}

const SCOPE = `(?:${READ_SCOPES.join('|')})`;
const ENTRY = new RegExp(`^(${SCOPE}(?:\\+${SCOPE})*):([0-9a-f]{64})((?:\\s+[a-z]+=\\S+)*)$`);
const OWNER = /^[A-Za-z0-9._@-]{1,64}$/;
export const ENTRY_FORMAT =
  'scope+scope:sha256hex [owner=<name>] [expires=<ISO-8601 time>], scopes from read:vitals, read:events, read:metrics';

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token and the entry to configure for it. */
export function generateReadToken(
  scopes: readonly ReadScope[] = READ_SCOPES,
  options: { owner?: string; expiresAt?: number } = {},
): { token: string; entry: string } {
  const token = `cxr_${randomBytes(32).toString('base64url')}`;
  const attributes = [
    ...(options.owner ? [`owner=${options.owner}`] : []),
    ...(options.expiresAt !== undefined ? [`expires=${new Date(options.expiresAt).toISOString()}`] : []),
  ];
  return { token, entry: [`${scopes.join('+')}:${hashToken(token)}`, ...attributes].join(' ') };
}

let demo: { token: string } | undefined;

/** The demo read token of this process (every read scope), made once; tests in the same process read it. */
export function demoReadCredentials(): { token: string; demo: true } {
  demo ??= { token: generateReadToken().token };
  return { token: demo.token, demo: true };
}

/**
 * Parses one entry. Returns a message (without echoing the entry: it may be a token
 * pasted by mistake) when it is not one.
 */
export function parseReadTokenEntry(text: string): ReadTokenEntry | string {
  const match = ENTRY.exec(text.trim());
  if (!match) return `not an entry of the form ${ENTRY_FORMAT}; hash a token with: printf %s "$TOKEN" | sha256sum`;
  const entry: ReadTokenEntry = {
    scopes: [...new Set((match[1] ?? '').split('+') as ReadScope[])],
    sha256: match[2] ?? '',
    owner: undefined,
    expiresAt: undefined,
  };
  for (const attribute of (match[3] ?? '').trim().split(/\s+/).filter(Boolean)) {
    const [key, value = ''] = attribute.split('=', 2) as [string, string?];
    if (key === 'owner') {
      if (!OWNER.test(value)) return 'owner= takes 1-64 letters, digits, ".", "_", "@" or "-"';
      entry.owner = value;
    } else if (key === 'expires') {
      const at = Date.parse(value);
      if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at))
        return `expires= must be an ISO-8601 time such as 2027-03-31T00:00:00Z`;
      entry.expiresAt = at;
    } else return `unknown attribute "${key.slice(0, 20)}": use owner= or expires=`;
  }
  return entry;
}

/** Entries from text: comma-separated and/or one per line; `#` starts a comment. */
export function parseReadTokenEntries(text: string, origin: string): ReadTokenEntry[] {
  const entries: ReadTokenEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    for (const part of (line.split('#')[0] ?? '').split(',')) {
      if (part.trim() === '') continue;
      const parsed = parseReadTokenEntry(part);
      if (typeof parsed === 'string') throw new ReadTokensError('READ_TOKENS_INVALID', `${origin}: line ${i + 1}: ${parsed}`);
      entries.push(parsed);
    }
  }
  return entries;
}

export class ReadTokens {
  private readonly hashes: Buffer[];

  private constructor(
    readonly entries: readonly ReadTokenEntry[],
    /** True when the only token is the process's generated demo token. */
    readonly demo: boolean,
    private readonly now: () => number,
  ) {
    this.hashes = entries.map((e) => Buffer.from(e.sha256, 'hex'));
  }

  static fromEntries(entries: ReadTokenEntry[], now: () => number = Date.now): ReadTokens {
    if (entries.length === 0) throw new ReadTokensError('READ_TOKENS_INVALID', 'no read token entries given');
    return new ReadTokens(entries, false, now);
  }

  /** Accepts the process's demo token, with every read scope. */
  static demo(): ReadTokens {
    const sha256 = hashToken(demoReadCredentials().token);
    return new ReadTokens([{ scopes: [...READ_SCOPES], sha256, owner: 'demo', expiresAt: undefined }], true, Date.now);
  }

  /** The entry a presented token matches, compared against every entry in constant time. */
  check(token: string): TokenCheck {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found = -1;
    for (const [i, hash] of this.hashes.entries()) {
      if (timingSafeEqual(hash, presented) && found < 0) found = i;
    }
    const entry = this.entries[found];
    if (!entry) {
      return {
        ok: false,
        code: 'AUTH_INVALID_TOKEN',
        message: 'The token is not known to this server (revoked, mistyped, or for another instance).',
      };
    }
    if (entry.expiresAt !== undefined && this.now() >= entry.expiresAt) {
      return {
        ok: false,
        code: 'AUTH_TOKEN_EXPIRED',
        message: `The token expired at ${new Date(entry.expiresAt).toISOString()}; ask the operator for a new one.`,
      };
    }
    return {
      ok: true,
      principal: {
        scopes: new Set(entry.scopes),
        owner: entry.owner ?? `token ${entry.sha256.slice(0, 8)}`,
        tokenHash: entry.sha256,
        expiresAt: entry.expiresAt,
      },
    };
  }
}

/** The read tokens a process runs with: CXV_READ_TOKENS plus CXV_READ_TOKENS_FILE; none at all → demo. */
export async function loadReadTokens(settings: {
  tokens: ReadTokenEntry[];
  tokensFile: string | undefined;
}): Promise<ReadTokens> {
  const entries = await entriesWithFile({
    entries: settings.tokens,
    file: settings.tokensFile,
    variable: 'CXV_READ_TOKENS_FILE',
    lockedOut: 'reader',
    parse: parseReadTokenEntries,
    fail: (problem, message, cause) =>
      new ReadTokensError(
        problem === 'unreadable' ? 'READ_TOKENS_FILE_UNREADABLE' : 'READ_TOKENS_INVALID',
        message,
        cause === undefined ? undefined : { cause },
      ),
  });
  return entries.length > 0 ? ReadTokens.fromEntries(entries) : ReadTokens.demo();
}

/**
 * Payload fields that identify a person or carry their words: masked in raw events for
 * a reader without read:events. The key stays, so the page can say something is hidden.
 */
export const PERSONAL_FIELDS = ['customerId', 'agentId', 'author', 'comment', 'text'] as const;
export const MASK = '[masked: needs read:events]';

export function maskPersonalData(payload: Record<string, unknown>): Record<string, unknown> {
  const masked = { ...payload };
  for (const field of PERSONAL_FIELDS) if (masked[field] !== undefined && masked[field] !== null) masked[field] = MASK;
  return masked;
}
