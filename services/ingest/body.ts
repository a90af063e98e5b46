import type { FieldError } from '../shared/sources/common.ts';

/**
 * Turns a request body into a list of candidate events: a JSON array, a single JSON
 * object, or NDJSON (one object per line). A bad NDJSON line is an error at its own
 * index and does not stop the other lines.
 */
export interface ParsedBody {
  items: Array<{ index: number; value: unknown }>;
  errors: FieldError[];
  /** How many events the body held (valid or not): the `received` count. */
  count: number;
}

export function parseEventsBody(body: string, format: 'json' | 'ndjson'): ParsedBody {
  // A byte-order mark is not JSON whitespace; editors on some platforms add one.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return {
        items: [],
        errors: [
          { index: 0, field: '(body)', code: 'invalid_json', message: `body is not valid JSON: ${(err as Error).message}` },
        ],
        count: 1,
      };
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return { items: list.map((value, index) => ({ index, value })), errors: [], count: list.length };
  }
  const items: ParsedBody['items'] = [];
  const errors: FieldError[] = [];
  let index = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      items.push({ index, value: JSON.parse(line) });
    } catch (err) {
      errors.push({ index, field: '(line)', code: 'invalid_json', message: `line is not valid JSON: ${(err as Error).message}` });
    }
    index += 1;
  }
  return { items, errors, count: index };
}
