import type { types } from 'mediasoup-client';
import { describe, expect, it } from 'vitest';
import { CAMERA_ENCODINGS } from '../../client/deps.ts';
import type { CallDeps } from '../../client/deps.ts';
import { Emitter } from '../../client/events.ts';
import type { ClientEvents } from '../../client/events.ts';
import { memoryStore, noTracer } from '../../client/host.ts';
import { Publisher } from '../../client/publisher.ts';

/*
 * Every captured track ends once the call no longer holds it: the "camera left on" bug of the first prototype.
 * The browser and mediasoup-client are faked here (the e2e room test checks the same on Chromium); what is
 * tested is the publisher's bookkeeping when a capture finishes after the producer it was for has gone.
 */

class FakeTrack {
  readyState: 'live' | 'ended' = 'live';
  constructor(readonly kind: 'audio' | 'video') {}
  stop(): void {
    this.readyState = 'ended';
  }
  addEventListener(): void {}
}

class FakeProducer {
  closed = false;
  appData: Record<string, unknown>;
  constructor(
    readonly id: string,
    public track: FakeTrack,
    appData: Record<string, unknown>,
    private failReplace: boolean,
  ) {
    this.appData = appData;
  }
  get kind() {
    return this.track.kind;
  }
  close(): void {
    this.closed = true;
  }
  async replaceTrack({ track }: { track: FakeTrack }): Promise<void> {
    await Promise.resolve();
    if (this.failReplace) throw new Error('replaceTrack failed');
    this.track = track;
  }
}

function setup(options: { failReplace?: boolean } = {}) {
  const captured: FakeTrack[] = [];
  let release: (() => void) | undefined;
  const gate = () => new Promise<void>((resolve) => (release = resolve));
  let slowCapture = false;
  const deps: CallDeps = {
    signaling: { request: async () => ({}) as never },
    capture: {
      async track(source) {
        if (slowCapture) await gate();
        const track = new FakeTrack(source === 'microphone' ? 'audio' : 'video');
        captured.push(track);
        return track as unknown as MediaStreamTrack;
      },
      screen: () => Promise.reject(new Error('no screen here')),
    },
    store: memoryStore(),
    tracer: noTracer,
    events: new Emitter<ClientEvents>(),
    media: { cameraEncodings: CAMERA_ENCODINGS, subscribe: true, iceTransportPolicy: 'all' },
    checkSignaling: async () => 'alive',
  };
  let n = 0;
  const transport = {
    closed: false,
    produce: async ({ track, appData }: { track: FakeTrack; appData: Record<string, unknown> }) =>
      new FakeProducer(`p${++n}`, track, appData, options.failReplace ?? false),
  } as unknown as types.Transport;
  const publisher = new Publisher(
    deps,
    () => transport,
    () => 'connected',
  );
  return {
    publisher,
    captured,
    slow: () => (slowCapture = true),
    finishCapture: () => release?.(),
    live: () => captured.filter((t) => t.readyState === 'live').length,
  };
}

const cameraId = (publisher: Publisher) => publisher.outbound('camera')?.id ?? '';

describe('the publisher stops every track it no longer holds', () => {
  it('a re-acquired camera that arrives after the user left is stopped', async () => {
    const t = setup();
    await t.publisher.set('camera', true);
    const id = cameraId(t.publisher);
    t.slow();
    const repair = t.publisher.reacquire(id);
    await t.publisher.close();
    t.finishCapture();
    await repair.catch(() => undefined);
    expect(t.captured).toHaveLength(2);
    expect(t.live()).toBe(0);
  });

  it('a re-acquired camera that arrives after the camera was turned off is stopped', async () => {
    const t = setup();
    await t.publisher.set('camera', true);
    const id = cameraId(t.publisher);
    t.slow();
    const repair = t.publisher.reacquire(id);
    await t.publisher.set('camera', false);
    t.finishCapture();
    await repair.catch(() => undefined);
    expect(t.live()).toBe(0);
  });

  it('a device switch the producer refuses stops the new track and keeps the old one', async () => {
    const t = setup({ failReplace: true });
    await t.publisher.set('camera', true);
    await expect(t.publisher.switchDevice('camera', 'other')).rejects.toThrow('replaceTrack failed');
    expect(t.captured.map((c) => c.readyState)).toEqual(['live', 'ended']);
    await t.publisher.close();
    expect(t.live()).toBe(0);
  });

  it('a device switch that succeeds ends the old track only', async () => {
    const t = setup();
    await t.publisher.set('camera', true);
    await t.publisher.switchDevice('camera', 'other');
    expect(t.captured.map((c) => c.readyState)).toEqual(['ended', 'live']);
    await t.publisher.close();
    expect(t.live()).toBe(0);
  });
});
