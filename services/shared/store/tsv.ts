/**
 * Rows already encoded as ClickHouse TabSeparated text, for the inserts on the hot path.
 *
 * JSONEachRow costs one object per row and one `JSON.stringify` per row at insert time,
 * and a column that is itself JSON (raw_events.payload) is escaped twice. A TabSeparated
 * line is built once, when the event is counted, and kept as one string until its window
 * is written. It is text, so both @clickhouse/client over HTTP and chDB (whose connection
 * reads an insert body as UTF-8) accept it.
 *
 * Iterable over its lines and with a `length` (the row count), so stores that wrap
 * another (timings, fault injection, statement recording) see it as they see rows.
 */
export class TsvRows implements Iterable<string> {
  readonly format = 'TabSeparated' as const;
  constructor(
    /** The table's columns, in the order of each line's fields. */
    readonly columns: readonly string[],
    /** One line per row, fields already escaped with `tsvString`, no trailing newline. */
    readonly lines: readonly string[],
  ) {}

  get length(): number {
    return this.lines.length;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.lines[Symbol.iterator]();
  }

  /** The insert body: every line, each ended by a newline. */
  body(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}

/** What `Store.insert` takes: row objects (encoded as JSONEachRow) or lines already encoded. */
export type InsertRows = readonly object[] | TsvRows;

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPABLE = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A String field of a TabSeparated line: backslash, tab, newline, carriage return and NUL escaped, as ClickHouse reads them. */
export function tsvString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPABLE, (c) => ESCAPES[c] ?? c) : value;
}

const QUOTED_NEEDS_ESCAPE = /[\\'\t\n\r\0]/;
const QUOTED_ESCAPABLE = /[\\'\t\n\r\0]/g;
const QUOTED_ESCAPES: Record<string, string> = { ...ESCAPES, "'": "\\'" };

/**
 * A string inside an array field of a TabSeparated line: in single quotes, with the same
 * escapes as a field plus the quote itself, as ClickHouse reads an Array(String) there (the
 * array's text is read as it is, not unescaped first).
 */
function tsvQuoted(value: string): string {
  return `'${QUOTED_NEEDS_ESCAPE.test(value) ? value.replace(QUOTED_ESCAPABLE, (c) => QUOTED_ESCAPES[c] ?? c) : value}'`;
}

/** A Float64 field, `\N` (NULL) for null; a non-finite number has no TabSeparated text ClickHouse and JSON agree on, so it is refused. */
export function tsvFloat(value: number | null): string {
  if (value === null) return '\\N';
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return String(value);
}

/** A Map(String, Float64) field from an object of finite numbers. */
export function tsvFloatMap(values: Readonly<Record<string, number>>): string {
  return `{${Object.entries(values)
    .map(([k, v]) => `${tsvQuoted(k)}:${tsvFloat(v)}`)
    .join(',')}}`;
}

/** An Array(String) field. */
export function tsvStringArray(values: readonly string[]): string {
  return `[${values.map(tsvQuoted).join(',')}]`;
}

/** An Array(UInt64) (or any integer array) field from safe integers. */
export function tsvIntegerArray(values: readonly number[]): string {
  return `[${values.join(',')}]`;
}

/** An Array(DateTime64(3)) field from epoch milliseconds. */
export function tsvDateTime64MsArray(values: readonly number[]): string {
  return `[${values.map((ms) => `'${tsvDateTime64Ms(ms)}'`).join(',')}]`;
}

/** The `YYYY-MM-DD hh:mm:` text of the last two minutes asked (an event's time and its receipt time): toISOString once per minute, not per field. */
const minuteText = { minutes: [Number.NaN, Number.NaN], texts: ['', ''], next: 0 };

function minutePrefix(minute: number): string {
  const { minutes, texts } = minuteText;
  if (minutes[0] === minute) return texts[0] as string;
  if (minutes[1] === minute) return texts[1] as string;
  const iso = new Date(minute * 60_000).toISOString();
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 17)}`;
  const slot = minuteText.next;
  minutes[slot] = minute;
  texts[slot] = text;
  minuteText.next = 1 - slot;
  return text;
}

/**
 * A DateTime64(3) field from epoch milliseconds: `YYYY-MM-DD hh:mm:ss.sss` in UTC, the form
 * every `date_time_input_format` reads the same way (a bare number is not: best_effort
 * reads digits as a date).
 */
export function tsvDateTime64Ms(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  const rest = ms - minute * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${minutePrefix(minute)}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}
