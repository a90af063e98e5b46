import type { MappedRow } from './map-file.ts';
import { createSender, type PostResult, type SenderOptions } from './sender.ts';

/**
 * Replay: mapped rows → NDJSON batches → the ingest endpoint, one batch in flight (so the
 * file is read only as fast as the server takes it), paced by `rate` when given. Every
 * row ends in exactly one bucket, so the summary's arithmetic is checkable:
 *
 *   rows read = accepted + rejected by mapping + rejected by server + not sent
 *
 * "not sent" is non-zero only when the run stopped on a server failure; rows after that
 * point were not read. A dry run posts nothing: it checks events with the local source
 * definition instead (the "server" bucket then means "would be rejected").
 */

export interface ReasonCount {
  reason: string;
  count: number;
  /** The first row with this reason, and what was wrong with it. */
  example: { row: number; detail?: string };
}

export interface ReplayProgress {
  rowsRead: number;
  sent: number;
  accepted: number;
  rejectedByMapping: number;
  rejectedByServer: number;
  elapsedMs: number;
}

export interface ReplaySummary extends ReplayProgress {
  /** Of accepted: corrections and duplicates (an eventId seen before, other or same content), as the server told. */
  corrected: number;
  duplicate: number;
  file: string;
  source: string;
  target: string;
  dryRun: boolean;
  notSent: number;
  batches: number;
  retries: number;
  mappingReasons: ReasonCount[];
  serverReasons: ReasonCount[];
  /** `atRow`: the first row not taken (the first row of the failed batch, or the row that could not be read). */
  failure?: { kind: 'server' | 'input'; message: string; atRow: number };
}

export interface ReplayOptions extends Omit<SenderOptions, 'source'> {
  file: string;
  source: string;
  rows: AsyncIterable<MappedRow>;
  batchSize: number;
  /** Events per second, at most (average over the run). */
  rate?: number | undefined;
  dryRun: boolean;
  /** Dry run: the reason an event would be refused, or undefined when it is valid. */
  validate?: ((event: Record<string, unknown>) => { reason: string; detail: string } | undefined) | undefined;
  now?: () => number;
  onProgress?: (p: ReplayProgress) => void;
  progressEveryMs?: number;
}

/**
 * A reason that stays the same across rows, so rows can be counted under it: the field and
 * the error code, or the message for custom checks (their messages name no values).
 */
export const errorReason = (e: { field: string; code: string; message: string }): string =>
  `${e.field}: ${e.code === 'custom' ? e.message : e.code}`;

class Reasons {
  private readonly byReason = new Map<string, ReasonCount>();
  add(reason: string, row: number, detail?: string, count = 1): void {
    const r = this.byReason.get(reason);
    if (r) r.count += count;
    else this.byReason.set(reason, { reason, count, example: { row, ...(detail === undefined ? {} : { detail }) } });
  }
  list(): ReasonCount[] {
    return [...this.byReason.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}

export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const mappingReasons = new Reasons();
  const serverReasons = new Reasons();
  const s = {
    rowsRead: 0,
    sent: 0,
    accepted: 0,
    corrected: 0,
    duplicate: 0,
    rejectedByMapping: 0,
    rejectedByServer: 0,
    notSent: 0,
    batches: 0,
    retries: 0,
  };
  let failure: ReplaySummary['failure'];
  let lastProgress = started;
  const sender = o.dryRun ? undefined : createSender({ ...o, sleep });

  const progress = () => {
    const t = now();
    if (!o.onProgress || t - lastProgress < (o.progressEveryMs ?? 1000)) return;
    lastProgress = t;
    const { rowsRead, sent, accepted, rejectedByMapping, rejectedByServer } = s;
    o.onProgress({ rowsRead, sent, accepted, rejectedByMapping, rejectedByServer, elapsedMs: t - started });
  };

  const settle = (batch: Array<{ row: number; event: Record<string, unknown> }>, result: PostResult): boolean => {
    s.retries += result.retries;
    if (result.kind === 'failed') {
      s.notSent += batch.length;
      failure = { kind: 'server', message: result.message, atRow: batch[0]?.row ?? s.rowsRead };
      return false;
    }
    s.sent += batch.length;
    s.accepted += result.accepted;
    s.corrected += result.corrected ?? 0;
    s.duplicate += result.duplicate ?? 0;
    // One reason per refused event: its first error (field and code, stable across rows).
    const firstError = new Map<number, (typeof result.errors)[number]>();
    for (const e of result.errors) if (!firstError.has(e.index)) firstError.set(e.index, e);
    for (const [index, e] of firstError) serverReasons.add(errorReason(e), batch[index]?.row ?? -1, e.message);
    const unexplained = batch.length - result.accepted - firstError.size;
    if (unexplained > 0) serverReasons.add('refused without an error entry', batch[0]?.row ?? -1, undefined, unexplained);
    s.rejectedByServer += batch.length - result.accepted;
    return true;
  };

  const flush = async (batch: Array<{ row: number; event: Record<string, unknown> }>): Promise<boolean> => {
    if (batch.length === 0) return true;
    s.batches += 1;
    if (!sender) {
      for (const { row, event } of batch) {
        const problem = o.validate?.(event);
        if (problem) {
          serverReasons.add(problem.reason, row, problem.detail);
          s.rejectedByServer += 1;
        } else s.accepted += 1;
      }
      return true;
    }
    if (o.rate !== undefined && o.rate > 0) {
      const due = started + (s.sent / o.rate) * 1000;
      if (now() < due) await sleep(due - now());
    }
    return settle(batch, await sender.post(batch.map((b) => b.event)));
  };

  let batch: Array<{ row: number; event: Record<string, unknown> }> = [];
  try {
    for await (const item of o.rows) {
      s.rowsRead += 1;
      if ('rejected' in item) {
        s.rejectedByMapping += 1;
        mappingReasons.add(item.rejected, item.row, item.detail);
      } else {
        batch.push({ row: item.row, event: item.event });
        if (batch.length >= o.batchSize) {
          const ok = await flush(batch);
          batch = [];
          if (!ok) break;
        }
      }
      progress();
    }
    if (!failure) await flush(batch);
  } catch (err) {
    s.notSent += batch.length;
    failure = { kind: 'input', message: (err as Error).message, atRow: s.rowsRead + 1 };
  }
  return {
    file: o.file,
    source: o.source,
    target: o.dryRun ? 'dry run, nothing sent' : o.url,
    dryRun: o.dryRun,
    ...s,
    elapsedMs: now() - started,
    mappingReasons: mappingReasons.list(),
    serverReasons: serverReasons.list(),
    ...(failure ? { failure } : {}),
  };
}
