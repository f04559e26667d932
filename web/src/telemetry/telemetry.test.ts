import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../protocol/telemetry.ts';
import { SignalingSocket } from '../../../client/socket.ts';
import type { SocketLike } from '../../../client/socket.ts';
import { consumerStats } from '../../../client/consumer-stats.ts';
import { SpanBatcher, takeBatch } from './export.ts';
import { action, setScope, setSpanSink, flushSpans, traces } from './tracing.ts';

const record = (i: number): SpanRecord => ({
  traceId: 'a'.repeat(32),
  spanId: i.toString(16).padStart(16, '0'),
  name: 'span',
  kind: 'internal',
  service: 'parley-web',
  startMs: 0,
  endMs: 1,
  attributes: {},
  events: [],
  status: 'unset',
});

/** A socket that records what is sent and answers every request with ok. */
function fakeSocket(): { socket: SocketLike; sent: unknown[] } {
  const sent: unknown[] = [];
  const listeners: Record<string, ((e: { data: unknown }) => void)[]> = {};
  const socket: SocketLike = {
    send(data) {
      const msg = JSON.parse(data) as { id: number };
      sent.push(msg);
      queueMicrotask(() => listeners.message?.forEach((l) => l({ data: JSON.stringify({ id: msg.id, ok: true, data: {} }) })));
    },
    close() {},
    addEventListener(type, listener) {
      (listeners[type] ??= []).push(listener as (e: { data: unknown }) => void);
      if (type === 'open') queueMicrotask(() => (listener as (e: unknown) => void)({}));
    },
  };
  return { socket, sent };
}

describe('browser traces', () => {
  it('an action is a span whose context travels as traceparent in each request envelope', async () => {
    const { socket, sent } = fakeSocket();
    const client = await SignalingSocket.open(
      'ws://test',
      [],
      () => undefined,
      () => undefined,
      class {
        constructor() {
          // biome-ignore lint/correctness/noConstructorReturn: the fake hands out one shared socket
          return socket;
        }
      } as unknown as new (
        url: string,
      ) => SocketLike,
    );
    const reported: SpanRecord[] = [];
    setSpanSink(async (spans) => void reported.push(...spans));
    setScope({ 'parley.room': 'lounge', 'parley.peer': 'p1' });

    let traceId = '';
    let spanId = '';
    await action('join', { extra: 1 }, undefined, async (ctx, span) => {
      ({ traceId, spanId } = span.spanContext());
      await client.request('leave', {}, ctx);
      await action('publish camera', {}, ctx, async () => undefined);
    });
    await client.request('leave', {});

    expect(sent[0]).toMatchObject({ method: 'leave', traceparent: `00-${traceId}-${spanId}-01` });
    expect(sent[1]).not.toHaveProperty('traceparent');
    expect(traces()).toMatchObject({ join: traceId, publish: traceId });

    await flushSpans();
    const join = reported.find((s) => s.name === 'join');
    const publish = reported.find((s) => s.name === 'publish camera');
    expect(join).toMatchObject({
      service: 'parley-web',
      traceId,
      attributes: { 'parley.room': 'lounge', 'parley.peer': 'p1', extra: 1 },
    });
    expect(publish?.parentSpanId).toBe(spanId);
  });

  it('a failed action is an error span with the exception', async () => {
    const reported: SpanRecord[] = [];
    setSpanSink(async (spans) => void reported.push(...spans));
    await expect(action('remedy', {}, undefined, async () => Promise.reject(new Error('no transport')))).rejects.toThrow(
      'no transport',
    );
    await flushSpans();
    expect(reported[0]).toMatchObject({ name: 'remedy', status: 'error', statusMessage: 'no transport' });
    expect(reported[0]?.events[0]?.name).toBe('exception');
  });
});

describe('span batches', () => {
  it('at most 64 spans per request, and under the message size limit', () => {
    expect(takeBatch(Array.from({ length: 100 }, (_, i) => record(i)))).toHaveLength(64);
    // About 21 KB each: three fit in one message.
    const event = { name: 'e', timeMs: 0, attributes: { v: 'y'.repeat(1000) } };
    const queue = Array.from({ length: 10 }, (_, i) => ({ ...record(i), events: Array.from({ length: 20 }, () => event) }));
    const batch = takeBatch(queue);
    expect(batch.length).toBeGreaterThan(0);
    expect(batch).toHaveLength(2);
    expect(queue).toHaveLength(8);
    expect(JSON.stringify(batch).length).toBeLessThan(64 * 1024);
  });

  it('keeps what could not be sent and drops what the server refused', async () => {
    const batcher = new SpanBatcher();
    batcher.setSink(() => Promise.reject(new Error('connection closed')));
    batcher.add(record(1));
    await batcher.flush();
    expect(batcher.pending).toBe(1);
    const { ParleyError } = await import('../../../protocol/errors.ts');
    batcher.setSink(() => Promise.reject(new ParleyError('BAD_REQUEST', 'no')));
    await batcher.flush();
    expect(batcher.pending).toBe(0);
  });
});

describe('consumer stats for the doctor', () => {
  it('sums inbound-rtp rows and takes the largest frame size', () => {
    const report = new Map<string, Record<string, unknown>>([
      ['a', { type: 'inbound-rtp', packetsReceived: 10, framesDecoded: 3, freezeCount: 1, frameWidth: 320, frameHeight: 180 }],
      ['b', { type: 'inbound-rtp', packetsReceived: 5, framesDecoded: 2, frameWidth: 640, frameHeight: 360 }],
      ['c', { type: 'codec', packetsReceived: 99 }],
    ]) as unknown as RTCStatsReport;
    const track = { muted: false } as MediaStreamTrack;
    expect(consumerStats({ consumerId: 'c1', kind: 'video', track, paused: true }, report)).toEqual({
      consumerId: 'c1',
      packetsReceived: 15,
      framesDecoded: 5,
      freezeCount: 1,
      frameWidth: 640,
      frameHeight: 360,
      trackMuted: false,
      hidden: true,
    });
    expect(
      consumerStats({ consumerId: 'c2', kind: 'audio', track: { muted: true } as MediaStreamTrack, paused: false }, undefined),
    ).toEqual({
      consumerId: 'c2',
      packetsReceived: 0,
      trackMuted: true,
    });
  });
});
