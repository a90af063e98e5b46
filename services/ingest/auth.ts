import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { entriesWithFile } from '../shared/auth/token-file.ts';

/**
 * Who may post events of which source. Tokens are bearer tokens
 * (`Authorization: Bearer <token>`); configuration holds only their SHA-256 hashes,
 * as `source:sha256hex` entries (`*` = every source). SHA-256 rather than a slow
 * password hash because tokens are long random strings (see `generateIngestToken`):
 * nothing to brute-force, and every request checks one. Hashes are compared with
 * `timingSafeEqual`, against every entry, so the time taken says nothing about which
 * entry came close.
 *
 * A `maintenance-history:sha256hex` entry is a maintenance token that may also post a
 * `declaredAt` earlier than receipt (MAINTENANCE_HISTORY).
 *
 * With no entry configured, the process makes one random demo token valid for every
 * source (`demoIngestCredentials`), which the start-up banner prints with a warning:
 * ingest is never open, not even in the embedded demo.
 */

export const ANY_SOURCE = '*';

/**
 * The entry "source" of a token that may post maintenance with a `declaredAt` earlier
 * than its receipt (importing a change-management system's history). No other token
 * may, `*` included: whether maintenance was planned is decided by when cxvitals
 * received the declaration (design doc, "Maintenance honesty"; issue 15, finding 4).
 */
export const MAINTENANCE_HISTORY = 'maintenance-history';

/** Whether the request's token may back-date maintenance. The one check; shared/sources/maintenance.ts applies it. */
export const mayBackdate = (decision: AuthDecision): boolean => decision.ok && decision.mayBackdate;

export interface IngestTokenEntry {
  /** A source name, or `*` for every source. */
  source: string;
  /** SHA-256 of the token, lowercase hex. */
  sha256: string;
}

export type AuthDecision =
  | { ok: true /** The token may post maintenance declared before cxvitals received it. */; mayBackdate: boolean }
  | { ok: false; status: 401 | 403; code: AuthErrorCode; message: string; headers: Record<string, string> };

export type AuthErrorCode = 'AUTH_REQUIRED' | 'AUTH_MALFORMED' | 'AUTH_INVALID_TOKEN' | 'AUTH_FORBIDDEN_SOURCE';

export class IngestAuthError extends Error {
  constructor(
    readonly code: 'INGEST_TOKENS_INVALID' | 'INGEST_TOKENS_FILE_UNREADABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IngestAuthError';
  }
}

/** RFC 6750 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const ENTRY = /^(\*|[a-z][a-z0-9_-]{0,63}):([0-9a-f]{64})$/;
const CHALLENGE = 'Bearer realm="cxvitals-ingest"';

export const hashIngestToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token and the entry to configure for it. */
export function generateIngestToken(source: string = ANY_SOURCE): { token: string; entry: string } {
  const token = `cxv_${randomBytes(32).toString('base64url')}`;
  return { token, entry: `${source}:${hashIngestToken(token)}` };
}

let demo: { token: string; demo: true } | undefined;

/**
 * The embedded demo token of this process: made once, valid for every source while
 * no token is configured. `app.ts` prints it at start; tests in the same process read it.
 */
export function demoIngestCredentials(): { token: string; demo: true } {
  demo ??= { token: generateIngestToken().token, demo: true };
  return demo;
}

/** Parses `source:sha256hex` entries: one or more per line, comma-separated; `#` starts a comment. */
export function parseTokenEntries(text: string, origin: string): IngestTokenEntry[] {
  const entries: IngestTokenEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    for (const part of (line.split('#')[0] ?? '').split(',')) {
      const entry = part.trim().toLowerCase();
      if (entry === '') continue;
      const match = ENTRY.exec(entry);
      if (!match) {
        // The entry itself is not echoed: it may be a plaintext token pasted by mistake.
        throw new IngestAuthError(
          'INGEST_TOKENS_INVALID',
          `${origin}: line ${i + 1} holds an entry that is not source:sha256hex (64 hex digits); hash a token with: printf %s "$TOKEN" | sha256sum`,
        );
      }
      entries.push({ source: match[1] ?? '', sha256: match[2] ?? '' });
    }
  }
  return entries;
}

export class IngestAuth {
  private readonly entries: Array<{ source: string; hash: Buffer }>;

  /** `demo` is true when the only token is the process's generated demo token. */
  private constructor(
    entries: IngestTokenEntry[],
    readonly demo: boolean,
  ) {
    this.entries = entries.map((e) => ({ source: e.source, hash: Buffer.from(e.sha256, 'hex') }));
  }

  static fromEntries(entries: IngestTokenEntry[]): IngestAuth {
    if (entries.length === 0) throw new IngestAuthError('INGEST_TOKENS_INVALID', 'no ingest token entries given');
    for (const e of entries) {
      if (!ENTRY.test(`${e.source}:${e.sha256}`)) {
        throw new IngestAuthError('INGEST_TOKENS_INVALID', `token entry for "${e.source}" is not source:sha256hex`);
      }
    }
    return new IngestAuth(entries, false);
  }

  /** Accepts the process's demo token for every source. */
  static demo(): IngestAuth {
    return new IngestAuth([{ source: ANY_SOURCE, sha256: hashIngestToken(demoIngestCredentials().token) }], true);
  }

  /** Sources (or `*`) the entries grant; for start-up logs. Never the hashes. */
  get grants(): string[] {
    return [...new Set(this.entries.map((e) => e.source))].sort();
  }

  /** 401 for a missing, malformed or unknown token; 403 for a good token of another source. */
  authorize(authorization: string | undefined, source: string): AuthDecision {
    if (authorization === undefined || authorization.trim() === '') {
      return refuse(401, 'AUTH_REQUIRED', 'Ingest needs a token: send the header "Authorization: Bearer <token>".');
    }
    const match = BEARER.exec(authorization);
    if (!match) {
      return refuse(401, 'AUTH_MALFORMED', 'The Authorization header must read "Bearer <token>" (RFC 6750), nothing else.');
    }
    const presented = createHash('sha256')
      .update(match[1] ?? '', 'utf8')
      .digest();
    let known = false;
    let allowed = false;
    let history = false;
    for (const entry of this.entries) {
      // Every entry is compared, match or not.
      const same = timingSafeEqual(entry.hash, presented);
      const isHistory = entry.source === MAINTENANCE_HISTORY && source === 'maintenance';
      known ||= same;
      allowed ||= same && (entry.source === ANY_SOURCE || entry.source === source || isHistory);
      history ||= same && isHistory;
    }
    if (allowed) return { ok: true, mayBackdate: history };
    if (known) {
      return refuse(
        403,
        'AUTH_FORBIDDEN_SOURCE',
        `This token may not post events of source "${source}"; use a token issued for "${source}" (or for every source).`,
      );
    }
    return refuse(
      401,
      'AUTH_INVALID_TOKEN',
      'The token is not known to this server (revoked, mistyped, or for another instance).',
    );
  }
}

function refuse(status: 401 | 403, code: AuthErrorCode, message: string): AuthDecision {
  const error = status === 403 ? 'insufficient_scope' : 'invalid_token';
  const challenge = code === 'AUTH_REQUIRED' ? CHALLENGE : `${CHALLENGE}, error="${error}"`;
  return { ok: false, status, code, message, headers: { 'www-authenticate': challenge } };
}

/**
 * The ingest auth a process runs with, from configuration (`config.ingest`): the
 * CXV_INGEST_TOKENS entries plus those of CXV_INGEST_TOKENS_FILE; none at all → demo.
 */
export async function loadIngestAuth(settings: {
  tokens: IngestTokenEntry[];
  tokensFile: string | undefined;
}): Promise<IngestAuth> {
  const entries = await entriesWithFile({
    entries: settings.tokens,
    file: settings.tokensFile,
    variable: 'CXV_INGEST_TOKENS_FILE',
    lockedOut: 'sender',
    parse: parseTokenEntries,
    fail: (problem, message, cause) =>
      new IngestAuthError(
        problem === 'unreadable' ? 'INGEST_TOKENS_FILE_UNREADABLE' : 'INGEST_TOKENS_INVALID',
        message,
        cause === undefined ? undefined : { cause },
      ),
  });
  return entries.length > 0 ? IngestAuth.fromEntries(entries) : IngestAuth.demo();
}
