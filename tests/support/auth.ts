import { demoReadCredentials, hashToken, READ_SCOPES } from '../../services/shared/auth/tokens.ts';

/**
 * Every HTTP read needs a token (issue 15). Pipelines started in this process accept its
 * demo read token; child processes (tests/support/processes.ts) are configured with the
 * same token's hash, so one header reads from either.
 */
export const testReadToken = (): string => demoReadCredentials().token;

/** Headers that authorize a read (every read scope). */
export const readHeaders = (): Record<string, string> => ({ authorization: `Bearer ${testReadToken()}` });

/** The CXV_READ_TOKENS entry of the test read token, for child processes. */
export const testReadTokenEntry = (): string => `${READ_SCOPES.join('+')}:${hashToken(testReadToken())} owner=tests`;
