import type { ParticipantResult, Progress } from './run.ts';

export function progressLine(p: Progress): string {
  return `${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s  joined ${p.joined}/${p.total}  errors ${p.errors}  in ${p.inMbps.toFixed(2)} Mbit/s  loss ${p.lossPct.toFixed(2)}%`;
}

const COLUMNS: [string, (r: ParticipantResult) => string | number][] = [
  ['participant', (r) => r.name],
  ['role', (r) => r.role],
  ['join ms', (r) => r.joinMs ?? '-'],
  ['1st frame ms', (r) => r.firstFrameMs ?? '-'],
  ['consumers', (r) => r.consumers],
  ['in kbit/s', (r) => r.inKbps],
  ['out kbit/s', (r) => r.outKbps],
  ['loss %', (r) => r.lossPct],
  ['NACKs', (r) => r.nacks],
  ['PLIs', (r) => r.plis],
  ['errors', (r) => r.errors.join('; ') || 0],
];

/** A fixed-width table of every participant, then a summary line. */
export function finalTable(results: ParticipantResult[]): string {
  const cells = results.map((r) => COLUMNS.map(([, get]) => String(get(r))));
  const widths = COLUMNS.map(([title], i) => Math.max(title.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const joins = results.flatMap((r) => (r.joinMs === undefined ? [] : [r.joinMs])).sort((a, b) => a - b);
  const frames = results.flatMap((r) => (r.firstFrameMs === undefined ? [] : [r.firstFrameMs])).sort((a, b) => a - b);
  const p = (v: number[], q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? '-';
  const summary =
    `${results.length} participants, ${results.filter((r) => r.errors.length).length} with errors; ` +
    `join p50 ${p(joins, 0.5)} ms p95 ${p(joins, 0.95)} ms; first frame p50 ${p(frames, 0.5)} ms p95 ${p(frames, 0.95)} ms; ` +
    `mean loss ${(results.reduce((n, r) => n + r.lossPct, 0) / Math.max(1, results.length)).toFixed(2)}%`;
  return [line(COLUMNS.map(([t]) => t)), ...cells.map(line), '', summary].join('\n');
}
