/**
 * A small HTTP client for the goals API, used by the CLI. Errors keep the API's code
 * and message (and field errors) so a person sees what to fix.
 */

export class GoalsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: Array<{ field: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'GoalsApiError';
  }
}

export interface GoalsClientOptions {
  url: string;
  token: string | undefined;
  fetch?: typeof fetch;
}

export class GoalsClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: GoalsClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  async request<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
    const text = await this.requestText(method, path, body);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async requestText(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<string> {
    if (!this.options.token) {
      throw new GoalsApiError(
        0,
        'NO_TOKEN',
        'No token: pass --token or set CXV_TOKEN (an admin issues tokens with POST /api/v1/people/{id}/tokens).',
      );
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new GoalsApiError(
        0,
        'UNREACHABLE',
        `Cannot reach ${this.base}: ${(err as Error).message}. Is cxvitals running there (--url)?`,
      );
    }
    const text = await res.text();
    if (res.ok) return text;
    let parsed: { code?: string; message?: string; errors?: Array<{ field: string; message: string }> } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // Not our error shape (a proxy in between): keep the raw text.
    }
    throw new GoalsApiError(
      res.status,
      parsed.code ?? `HTTP_${res.status}`,
      parsed.message ?? text.slice(0, 500),
      parsed.errors ?? [],
    );
  }
}
