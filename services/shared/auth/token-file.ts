import { readFile } from 'node:fs/promises';

/**
 * Token entries from configuration plus a file of them (`CXV_*_TOKENS_FILE`, one entry
 * per line: suits a mounted secret). Shared by ingest and read tokens so both refuse the
 * same way: an unreadable file, or a file with no entry at all (which would lock everyone
 * out), stops the start with a message naming the variable.
 */
export async function entriesWithFile<E>(options: {
  entries: readonly E[];
  file: string | undefined;
  variable: string;
  /** Who an empty file would lock out, for the message ("sender", "reader"). */
  lockedOut: string;
  parse: (text: string, where: string) => E[];
  fail: (problem: 'unreadable' | 'empty', message: string, cause?: unknown) => Error;
}): Promise<E[]> {
  const entries = [...options.entries];
  if (options.file === undefined) return entries;
  const where = `${options.variable}=${options.file}`;
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (err) {
    throw options.fail('unreadable', `${where} cannot be read (${(err as Error).message}); fix the path or unset it.`, err);
  }
  entries.push(...options.parse(text, where));
  if (entries.length === 0) {
    throw options.fail('empty', `${where} holds no token entry; an empty file would lock every ${options.lockedOut} out.`);
  }
  return entries;
}
