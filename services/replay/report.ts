import path from 'node:path';
import type { ReasonCount, ReplayProgress, ReplaySummary } from './replay.ts';

/** What a person reads on stderr during and after a replay. */

const n = (x: number): string => x.toLocaleString('en-US');

const perSecond = (count: number, ms: number): string => (ms > 0 ? `${n(Math.round((count * 1000) / ms))}/s` : '–');

export function formatProgress(p: ReplayProgress, dryRun: boolean): string {
  const done = p.accepted + p.rejectedByServer;
  return [
    `rows ${n(p.rowsRead)}`,
    dryRun ? `checked ${n(done)}` : `sent ${n(p.sent)}`,
    `${dryRun ? 'valid' : 'accepted'} ${n(p.accepted)}`,
    `rejected: mapping ${n(p.rejectedByMapping)}, ${dryRun ? 'validation' : 'server'} ${n(p.rejectedByServer)}`,
    `${perSecond(p.rowsRead, p.elapsedMs)} rows`,
  ].join(' · ');
}

function reasonLines(reasons: ReasonCount[], width: number): string[] {
  return reasons.map((r) => {
    const detail = r.example.detail && !r.reason.endsWith(r.example.detail) ? `: ${r.example.detail.slice(0, 120)}` : '';
    const example = ` (e.g. row ${r.example.row}${detail})`;
    return `      ${n(r.count).padStart(width)}  ${r.reason}${example}`;
  });
}

export function formatSummary(s: ReplaySummary): string {
  const rejectedLabel = s.dryRun ? 'would be rejected (local validation)' : 'rejected by server';
  const acceptedLabel = s.dryRun ? 'valid (would be sent)' : 'accepted';
  const width = Math.max(...[s.rowsRead, s.accepted, s.rejectedByMapping, s.rejectedByServer, s.notSent].map((x) => n(x).length));
  const row = (label: string, value: number) => `  ${label.padEnd(38)}${n(value).padStart(width)}`;
  const total = s.accepted + s.rejectedByMapping + s.rejectedByServer + s.notSent;
  const lines = [
    `replay ${path.basename(s.file)} → ${s.source} (${s.target})${s.failure ? ' — STOPPED' : ''}`,
    row('rows read', s.rowsRead),
    row(acceptedLabel, s.accepted),
    // Of accepted (corrections and re-sends are accepted events): shown when there were any.
    ...(s.corrected > 0 ? [row('  of which corrections', s.corrected)] : []),
    ...(s.duplicate > 0 ? [row('  of which duplicates', s.duplicate)] : []),
    row('rejected by mapping', s.rejectedByMapping),
    ...reasonLines(s.mappingReasons, width),
    row(rejectedLabel, s.rejectedByServer),
    ...reasonLines(s.serverReasons, width),
    ...(s.notSent > 0 || s.failure ? [row('not sent (run stopped)', s.notSent)] : []),
    `  check: ${n(s.rowsRead)} rows = ${[s.accepted, s.rejectedByMapping, s.rejectedByServer, ...(s.notSent > 0 ? [s.notSent] : [])].map(n).join(' + ')}` +
      (total === s.rowsRead ? '' : `  MISMATCH (${n(total)})`),
    `  ${s.batches} batch(es), ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}, ${(s.elapsedMs / 1000).toFixed(1)} s, ${perSecond(s.rowsRead, s.elapsedMs)} rows`,
  ];
  if (s.failure) {
    lines.push(
      s.failure.kind === 'server'
        ? `  stopped at row ${n(s.failure.atRow)} (first row of the batch the server did not take): ${s.failure.message}`
        : `  stopped at row ${n(s.failure.atRow)} of the file: ${s.failure.message}`,
    );
  }
  return lines.join('\n');
}
