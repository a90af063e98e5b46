/**
 * What a hostile caller sends: injection strings (SQL, ClickHouse parameter syntax,
 * templates, paths, control and bidi characters, huge values), each carrying MARK so it
 * can be recognised wherever it ends up; header and path tricks around bearer tokens.
 */

export const MARK = 'zq9xhostile';

export const HOSTILE_VALUES: readonly string[] = [
  `' OR '1'='1' -- ${MARK}`,
  `1; DROP TABLE cxvitals.raw_events; -- ${MARK}`,
  `x') UNION ALL SELECT name, password FROM system.users -- ${MARK}`,
  `{${MARK}:String}`,
  `{service:String}) OR 1=1 OR (${MARK}`,
  `\\' ${MARK} \\`,
  `${MARK}\u0000after-nul`,
  `../../../../etc/passwd#${MARK}`,
  `<script>alert('${MARK}')</script>`,
  `\${process.exit(1)}${MARK}`,
  `{{constructor.constructor('return process')()}}${MARK}`,
  `\u202e${MARK}\u202d`,
  `${MARK}🙂\ud800`,
  `${MARK}${'x'.repeat(6000)}`,
  `%27%20OR%201%3D1%20--${MARK}`,
  `${MARK}\r\nX-Injected: 1`,
  `2026-11-23T10:00:00Z' OR '${MARK}`,
];

/** Values without the mark: they probe parsing (numbers, prototype keys), not injection. */
export const ODD_VALUES: readonly string[] = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'NaN',
  '1e309',
  '-1',
  '0',
  '99999999999999999999',
  'null',
  'true',
  '[]',
  '{}',
];

/** Authorization headers that must not authenticate anyone; `token` is a valid admin token. */
export function bypassHeaders(
  token: string,
  sha256: string,
  otherToken: string,
): Array<{ what: string; headers: Record<string, string> }> {
  return [
    { what: 'no header', headers: {} },
    { what: 'empty bearer', headers: { authorization: 'Bearer' } },
    { what: 'bearer and spaces', headers: { authorization: 'Bearer    ' } },
    { what: 'token + 1 char', headers: { authorization: `Bearer ${token}x` } },
    { what: 'token prefix', headers: { authorization: `Bearer ${token.slice(0, -1)}` } },
    { what: 'token upper-cased', headers: { authorization: `Bearer ${token.toUpperCase()}` } },
    { what: 'the stored hash as token', headers: { authorization: `Bearer ${sha256}` } },
    { what: 'Basic scheme', headers: { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` } },
    { what: 'Token scheme', headers: { authorization: `Token ${token}` } },
    { what: 'two tokens', headers: { authorization: `Bearer ${otherToken} ${token}` } },
    { what: 'NUL in token', headers: { authorization: `Bearer ${token}\u0000` } },
    { what: 'token of another service', headers: { authorization: `Bearer ${otherToken}` } },
    { what: 'X-Api-Key only', headers: { 'x-api-key': token } },
    { what: 'forwarded user', headers: { 'x-forwarded-user': 'admin', 'x-remote-user': 'admin' } },
    { what: 'method override', headers: { 'x-http-method-override': 'GET' } },
    { what: 'huge bearer', headers: { authorization: `Bearer ${'A'.repeat(20_000)}` } },
  ];
}

/** Spellings of a protected path that must not reach it unauthenticated (404 or 401, never data). */
export function pathTricks(path: string): string[] {
  const [first = '', ...rest] = path.split('/').filter(Boolean).reverse();
  const parent = `/${rest.reverse().join('/')}`;
  return [
    `${path}/`,
    path.replace('/api/v1/', '/api/v1//'),
    path.replace('/api/', '/API/'),
    `${parent}/%${first.charCodeAt(0).toString(16)}${first.slice(1)}`,
    `${path};x=1`,
    path.replace('/api/v1/', '/api/v1/./'),
    path.replace('/api/v1/', '/api/v1/goals/../'),
    `/${path}`,
    `${path}%2f`,
    `${path}?access_token=`,
  ];
}
