import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CSI_COLUMNS } from '../../services/aggregator/csi-materializer.ts';
import { EventLedger } from '../../services/aggregator/ledger.ts';
import { RAW_EVENT_COLUMNS, rawEventLine, rawEventRows } from '../../services/aggregator/raw-events.ts';
import { createLogger } from '../../services/shared/log.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore } from '../../services/shared/store/store.ts';
import {
  TsvRows,
  tsvDateTime64Ms,
  tsvDateTime64MsArray,
  tsvFloat,
  tsvFloatMap,
  tsvIntegerArray,
  tsvString,
  tsvStringArray,
} from '../../services/shared/store/tsv.ts';

/**
 * raw_events is written as TabSeparated lines built when an event is counted (no object
 * per row, the payload's JSON escaped once). Whatever a sender puts in a string field —
 * tabs, newlines, backslashes, quotes, NUL, emoji — comes back from the store exactly.
 */
describe('TabSeparated rows', () => {
  it('escapes backslash, tab, newline, carriage return and NUL, and nothing else', () => {
    expect(tsvString('plain "quoted" é 😀')).toBe('plain "quoted" é 😀');
    expect(tsvString('a\tb\nc\\d\re\0f')).toBe('a\\tb\\nc\\\\d\\re\\0f');
  });

  it('writes DateTime64(3) as UTC text with milliseconds', () => {
    expect(tsvDateTime64Ms(Date.UTC(2026, 1, 28, 23, 59, 59, 7))).toBe('2026-02-28 23:59:59.007');
    expect(tsvDateTime64Ms(0)).toBe('1970-01-01 00:00:00.000');
    // Alternating minutes (an event's time and its receipt), padding of seconds and milliseconds, before 1970.
    expect(
      [Date.UTC(2026, 11, 7, 1, 2, 3, 45), Date.UTC(2026, 11, 7, 1, 3, 59, 999), Date.UTC(2026, 11, 7, 1, 2, 10, 5), -1].map(
        tsvDateTime64Ms,
      ),
    ).toEqual(['2026-12-07 01:02:03.045', '2026-12-07 01:03:59.999', '2026-12-07 01:02:10.005', '1969-12-31 23:59:59.999']);
    for (let ms = Date.UTC(2024, 1, 29, 23, 58, 0, 0); ms < Date.UTC(2024, 2, 1, 0, 1, 0, 0); ms += 997) {
      const iso = new Date(ms).toISOString();
      expect(tsvDateTime64Ms(ms)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 23)}`);
    }
  });

  it('writes arrays in brackets, strings in them quoted with the quote escaped too', () => {
    expect(tsvStringArray([])).toBe('[]');
    expect(tsvStringArray(['plain', "it's", 'a\tb\\c', ''])).toBe("['plain','it\\'s','a\\tb\\\\c','']");
    expect(tsvIntegerArray([0, 42, 2 ** 53 - 1])).toBe('[0,42,9007199254740991]');
    expect(tsvDateTime64MsArray([Date.UTC(2026, 11, 7, 1, 2, 3, 4), 0])).toBe(
      "['2026-12-07 01:02:03.004','1970-01-01 00:00:00.000']",
    );
  });

  it('writes floats, NULL as \\N, and maps of floats with quoted keys; refuses non-finite numbers', () => {
    expect(tsvFloat(0.125)).toBe('0.125');
    expect(tsvFloat(null)).toBe('\\N');
    expect(tsvFloatMap({ "it's": 1.5, plain: 0 })).toBe("{'it\\'s':1.5,'plain':0}");
    expect(() => tsvFloat(Number.NaN)).toThrow(RangeError);
    expect(() => tsvFloat(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('counts and iterates its lines, and ends every line of the body with a newline', () => {
    const rows = new TsvRows(['a', 'b'], ['1\tx', '2\ty']);
    expect(rows.length).toBe(2);
    expect([...rows]).toEqual(['1\tx', '2\ty']);
    expect(rows.body()).toBe('1\tx\n2\ty\n');
    expect(new TsvRows(['a'], []).body()).toBe('');
  });

  describe('into the embedded store', () => {
    let dir = '';
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('stores every raw_events column exactly as the record had it', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-tsv-'));
      const log = createLogger('warn');
      const store = await openStore({ mode: 'embedded', database: 'cxv_tsv', dataDir: dir, log });
      try {
        await migrate(store, log);
        const hostile = {
          eventId: 'id\twith\ttabs\nand\\backslash',
          ts: Date.UTC(2026, 11, 7, 1, 2, 3, 456),
          receivedAt: Date.UTC(2026, 11, 7, 1, 2, 4, 1),
          service: "broad'band",
          region: 'north\r\0',
          segment: null,
          comment: 'line one\nline "two"\t😀 \\n',
        };
        const plain = { eventId: 'e2', ts: 0, receivedAt: 1, service: 's', region: 'r', segment: 'gold' };
        await store.insert('raw_events', rawEventRows([rawEventLine('survey', hostile), rawEventLine('probe', plain)]));
        const got = await store.query<Record<string, unknown>>(
          `SELECT source, event_id, service, region, segment, toUnixTimestamp64Milli(ts) AS ts,
                  toUnixTimestamp64Milli(received_at) AS received_at, payload
           FROM ${store.table('raw_events')} ORDER BY source`,
        );
        expect(RAW_EVENT_COLUMNS).toEqual(['source', 'event_id', 'service', 'region', 'segment', 'ts', 'received_at', 'payload']);
        expect(got).toEqual([
          {
            source: 'probe',
            event_id: 'e2',
            service: 's',
            region: 'r',
            segment: 'gold',
            ts: 0,
            received_at: 1,
            payload: JSON.stringify(plain),
          },
          {
            source: 'survey',
            event_id: hostile.eventId,
            service: hostile.service,
            region: hostile.region,
            segment: '',
            ts: hostile.ts,
            received_at: hostile.receivedAt,
            payload: JSON.stringify(hostile),
          },
        ]);
        expect(JSON.parse(String(got[1]?.payload))).toEqual(hostile);

        // event_versions: the ledger's histories, arrays of payloads included, read back as written.
        const ledger = new EventLedger();
        const payloads = [
          JSON.stringify(hostile),
          '',
          JSON.stringify({ text: "quotes ' and \\' and ['],' inside", nul: '\0', emoji: '😀' }),
        ];
        payloads.forEach((payload, k) => {
          ledger.append('survey', hostile.eventId, 2 ** 53 - 1 - k, payload, Date.UTC(2026, 11, 7, 1, 2, 3, k));
        });
        ledger.append('probe', "e'1", 7, JSON.stringify(plain), 5);
        const rows = ledger.pendingRows();
        expect(rows.length).toBe(2);
        await store.insert('event_versions', rows);
        ledger.written();
        expect(ledger.get('survey', hostile.eventId)).toBeUndefined();
        await ledger.load(
          store,
          new Map([
            ['survey', new Set([hostile.eventId])],
            ['probe', new Set(["e'1"])],
          ]),
        );
        expect(ledger.get('survey', hostile.eventId)).toEqual({
          fingerprints: [2 ** 53 - 1, 2 ** 53 - 2, 2 ** 53 - 3],
          payloads,
          receivedAts: [0, 1, 2].map((k) => Date.UTC(2026, 11, 7, 1, 2, 3, k)),
        });
        expect(ledger.get('probe', "e'1")).toEqual({ fingerprints: [7], payloads: [JSON.stringify(plain)], receivedAts: [5] });

        // csi_1m (the CSI materializer's lines): a NULL CSI, a map of floats, hostile text.
        const summary = "CSI n/a:\tno KQI\nscored; 'quoted' \\ [x]";
        await store.insert(
          'csi_1m',
          new TsvRows(CSI_COLUMNS, [
            [
              '7',
              tsvString('h'),
              tsvString("s'1"),
              'r',
              tsvDateTime64Ms(60_000),
              tsvFloat(null),
              tsvFloat(0.25),
              tsvFloatMap({ "it's": 0.5, b: 1 }),
              tsvString(JSON.stringify(hostile)),
              tsvString(summary),
              tsvDateTime64Ms(1),
            ].join('\t'),
          ]),
        );
        const [csi] = await store.query<{
          csi: number | null;
          coverage: number;
          kqi_scores: Record<string, number>;
          explanation: string;
          summary: string;
        }>(`SELECT csi, coverage, kqi_scores, explanation, summary FROM ${store.table('csi_1m')} WHERE service = {s:String}`, {
          s: "s'1",
        });
        expect(csi).toEqual({
          csi: null,
          coverage: 0.25,
          kqi_scores: { "it's": 0.5, b: 1 },
          explanation: JSON.stringify(hostile),
          summary,
        });
      } finally {
        await store.close();
      }
    });
  });
});
