import { describe, expect, it } from 'vitest';
import type { RoomDiagnosis, SpanRecord } from '../../../protocol/telemetry.ts';
import { filterRooms, groupRooms, namesOf } from './rooms.ts';
import { formatMs, layoutTrace } from './timeline.ts';

const span = (
  spanId: string,
  parentSpanId: string | undefined,
  startMs: number,
  endMs: number,
  extra: Partial<SpanRecord> = {},
): SpanRecord => ({
  traceId: 'a'.repeat(32),
  spanId: spanId.padStart(16, '0'),
  ...(parentSpanId && { parentSpanId: parentSpanId.padStart(16, '0') }),
  name: `span ${spanId}`,
  kind: 'internal',
  service: 'parley-web',
  startMs,
  endMs,
  attributes: {},
  events: [],
  status: 'unset',
  ...extra,
});

describe('trace timeline layout', () => {
  it('orders spans depth-first under their parents and places bars in percent of the trace', () => {
    const spans = [
      span('3', '1', 1050, 1100, { service: 'parley-signaling' }),
      span('2', '1', 1000, 1040),
      span('1', undefined, 1000, 1200, { events: [{ name: 'captured', timeMs: 1100, attributes: { a: 1 } }] }),
      span('4', '3', 1060, 1090, { status: 'error' }),
      span('5', 'ffff', 1150, 1200, { attributes: { 'parley.span.live': true } }),
    ];
    const t = layoutTrace(spans);
    expect(t.durationMs).toBe(200);
    expect(t.rows.map((r) => [r.span.spanId.replace(/^0+/, ''), r.depth])).toEqual([
      ['1', 0],
      ['2', 1],
      ['3', 1],
      ['4', 2],
      ['5', 0], // its parent was never reported
    ]);
    const four = t.rows[3]!;
    expect(four.left).toBeCloseTo(30);
    expect(four.width).toBeCloseTo(15);
    expect(t.rows[4]!.live).toBe(true);
    expect(t.events).toEqual([expect.objectContaining({ name: 'captured', offsetMs: 100, at: 50, spanName: 'span 1' })]);
  });

  it('survives a cycle and an empty trace', () => {
    const t = layoutTrace([span('1', '2', 0, 10), span('2', '1', 5, 10)]);
    expect(t.rows).toHaveLength(2);
    expect(layoutTrace([]).rows).toEqual([]);
  });

  it('formats durations', () => {
    expect([0.42, 12.34, 250, 12_500].map(formatMs)).toEqual(['0.42 ms', '12.3 ms', '250 ms', '12.50 s']);
  });
});

describe('rooms on the dashboard', () => {
  const peer = (id: string, displayName: string) => ({ id, displayName, transports: [], producers: [], consumers: [] });
  const parts: RoomDiagnosis[] = [
    { roomId: 'b', instanceId: 'mw-2', region: 'frankfurt', peers: [peer('p3', 'Carol')] },
    { roomId: 'a', instanceId: 'mw-1', region: 'seoul', peers: [peer('p2', 'Bob'), peer('p1', 'Alice')] },
    { roomId: 'b', instanceId: 'mw-1', region: 'seoul', peers: [peer('p4', 'Dave')] },
  ];

  it('merges the parts of a room across media-worker instances', () => {
    const groups = groupRooms(parts);
    expect(groups.map((g) => [g.roomId, g.instances, g.peers.map((p) => `${p.displayName}@${p.instanceId}`)])).toEqual([
      ['a', ['mw-1 (seoul)'], ['Alice@mw-1', 'Bob@mw-1']],
      ['b', ['mw-2 (frankfurt)', 'mw-1 (seoul)'], ['Carol@mw-2', 'Dave@mw-1']],
    ]);
    expect(namesOf(groups).get('p3')).toBe('Carol');
  });

  it('filters peers by name or id as the user types, dropping rooms left empty', () => {
    const groups = groupRooms(parts);
    expect(filterRooms(groups, ' car').map((g) => g.peers.map((p) => p.id))).toEqual([['p3']]);
    expect(filterRooms(groups, 'P1').map((g) => g.roomId)).toEqual(['a']);
    expect(filterRooms(groups, '')).toBe(groups);
  });
});
