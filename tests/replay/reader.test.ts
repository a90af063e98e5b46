import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileStem, MappingMismatchError, mapFile, passThrough } from '../../services/replay/map-file.ts';
import { type Mapping, mappingSchema } from '../../services/replay/mapping/schema.ts';
import { type InputSpec, readRows } from '../../services/replay/reader.ts';

/** Reading files: encodings, gzip, BOM, CSV quoting, row numbers, bad rows. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-reader-'));
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, content);
  return p;
}

const csvInput = (over: Partial<InputSpec> = {}): InputSpec =>
  mappingSchema.shape.input.parse({ format: 'csv', ...over }) as InputSpec;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('reading CSV', () => {
  it('handles quoted commas, doubled quotes, line breaks inside quotes and CRLF; rows are numbered from the first data row', async () => {
    const p = await file('quoted.csv', 'id,text,n\r\n1,"a, b",2\r\n2,"say ""hi""",3\r\n3,"two\nlines",4\r\n\r\n4,plain,5\r\n');
    const rows = await collect(readRows(p, csvInput()));
    expect(rows).toEqual([
      { row: 1, line: 2, values: { id: '1', text: 'a, b', n: '2' } },
      { row: 2, line: 3, values: { id: '2', text: 'say "hi"', n: '3' } },
      { row: 3, line: 5, values: { id: '3', text: 'two\nlines', n: '4' } },
      { row: 4, line: 7, values: { id: '4', text: 'plain', n: '5' } },
    ]);
  });

  it('turns a row with the wrong number of cells into an error item, and goes on', async () => {
    const p = await file('ragged.csv', 'a,b\n1,2\n1,2,3\n4,5\n');
    const rows = await collect(readRows(p, csvInput()));
    expect(rows.map((r) => ('error' in r ? `${r.row}: ${r.error}` : `${r.row}: ok`))).toEqual([
      '1: ok',
      '2: has 3 cells where the header has 2 (an unquoted delimiter or a broken line?)',
      '3: ok',
    ]);
  });

  it('strips a UTF-8 byte-order mark so the first column keeps its name', async () => {
    const p = await file('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Ticket #,x\n1,2\n')]));
    const [row] = await collect(readRows(p, csvInput()));
    expect(row).toMatchObject({ values: { 'Ticket #': '1', x: '2' } });
    const kept = await collect(readRows(p, csvInput({ csv: { bom: false } as InputSpec['csv'] })));
    expect(Object.keys((kept[0] as { values: object }).values)[0]).toBe('\uFEFFTicket #');
  });

  it('decodes Latin-1 byte for byte and Windows-1252 with its 0x80–0x9F letters', async () => {
    const bytes = Buffer.from([...Buffer.from('t\n'), 0x64, 0xe9, 0x6a, 0xe0, 0x20, 0x80, 0x0a]);
    const p = await file('latin.csv', bytes);
    const [latin] = await collect(readRows(p, csvInput({ encoding: 'latin1' })));
    expect(latin).toMatchObject({ values: { t: 'déjà \u0080' } });
    const [cp1252] = await collect(readRows(p, csvInput({ encoding: 'windows-1252' })));
    expect(cp1252).toMatchObject({ values: { t: 'déjà €' } });
  });

  it('refuses a UTF-8 file declared as Latin-1, saying which setting to change', async () => {
    const p = await file('utf8-bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\n1\n')]));
    await expect(collect(readRows(p, csvInput({ encoding: 'latin1' })))).rejects.toThrow(/set input.encoding: utf-8/);
  });

  it('reads gzip by its magic bytes, whatever the file is called, and by .gz', async () => {
    const content = gzipSync('a;b\n1;2\n');
    for (const name of ['sneaky.csv', 'plain.csv.gz']) {
      const p = await file(name, content);
      expect(await collect(readRows(p, csvInput({ csv: { delimiter: ';' } as InputSpec['csv'] })))).toEqual([
        { row: 1, line: 2, values: { a: '1', b: '2' } },
      ]);
    }
  });

  it('uses given column names when the file has no header', async () => {
    const p = await file('noheader.csv', '1,2\n3,4\n');
    const rows = await collect(readRows(p, csvInput({ csv: { header: false, columns: ['x', 'y'] } as InputSpec['csv'] })));
    expect(rows.map((r) => ('values' in r ? r.values : r))).toEqual([
      { x: '1', y: '2' },
      { x: '3', y: '4' },
    ]);
  });

  it('stops reading and closes the file when the consumer stops early', async () => {
    const big = `n\n${Array.from({ length: 200_000 }, (_, i) => i).join('\n')}\n`;
    const p = await file('big.csv.gz', gzipSync(big));
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const before = fds();
    let seen = 0;
    for await (const _ of readRows(p, csvInput())) {
      seen += 1;
      if (seen === 3) break;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toBe(3);
    expect(fds()).toBeLessThanOrEqual(before);
  });
});

describe('reading NDJSON', () => {
  it('numbers non-empty lines as rows; a bad line is an error item', async () => {
    const p = await file('events.ndjson', '{"a":1}\n\nnot json\n[1]\n{"a":2}\n');
    const rows = await collect(passThrough(p));
    expect(rows).toEqual([
      { row: 1, line: 1, event: { a: 1 } },
      { row: 2, line: 3, rejected: 'unreadable row', detail: expect.stringMatching(/not valid JSON/) },
      { row: 3, line: 4, rejected: 'unreadable row', detail: 'line is not a JSON object' },
      { row: 4, line: 5, event: { a: 2 } },
    ]);
  });
});

describe('mapFile', () => {
  const m = (fields: object): Mapping => mappingSchema.parse({ version: 1, source: 'survey', input: { format: 'csv' }, fields });

  it('refuses a file that lacks a column the mapping reads, listing the columns it has', async () => {
    const p = await file('cols.csv', 'id,score\n1,9\n');
    await expect(collect(mapFile(p, m({ eventId: { column: 'id' }, score: { column: 'nps' } })))).rejects.toThrow(
      MappingMismatchError,
    );
    await expect(collect(mapFile(p, m({ score: { column: 'nps' } })))).rejects.toThrow(/no column "nps".*"id", "score"/);
  });

  it('gives every row exactly one outcome, and {$file}/{$row} make stable ids', async () => {
    const p = await file('answers-2024.csv.gz', gzipSync('score\n9\n\nx\n7,8\n'));
    const rows = await collect(
      mapFile(p, m({ eventId: { template: '{$file}:{$row}' }, score: { column: 'score', type: 'integer' } })),
    );
    expect(rows).toEqual([
      { row: 1, line: 2, event: { eventId: 'answers-2024:1', score: 9 } },
      { row: 2, line: 4, rejected: 'score: is not a number', detail: "'x' from column score" },
      { row: 3, line: 5, rejected: 'unreadable row', detail: expect.stringMatching(/has 2 cells/) },
    ]);
  });

  it('knows a file stem without its extensions', () => {
    expect(fileStem('/a/b/calls-1999.csv.gz')).toBe('calls-1999');
    expect(fileStem('x.ndjson')).toBe('x');
  });
});
