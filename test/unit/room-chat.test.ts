import { afterEach, describe, expect, it, vi } from 'vitest';
import { RoomChat } from '../../client/chat.ts';
import { CAMERA_ENCODINGS } from '../../client/deps.ts';
import type { CallDeps } from '../../client/deps.ts';
import { Emitter } from '../../client/events.ts';
import type { ClientEvents } from '../../client/events.ts';
import { memoryStore, noTracer } from '../../client/host.ts';
import { ConnectionClosed } from '../../client/socket.ts';
import type { ChatMessage } from '../../protocol/chat.ts';
import { ParleyError } from '../../protocol/errors.ts';

const message = (seq: number): ChatMessage => ({
  id: `m${seq}`,
  seq,
  roomId: 'lounge',
  kind: 'text',
  from: { peerId: 'p1', identity: 'ada', displayName: 'Ada' },
  text: `#${seq}`,
  sentAt: 1_000 + seq,
});

/** A room's chat whose history reads answer with `answers` in turn (an error is thrown), counting the reads. */
function chatWith(answers: (ChatMessage[] | Error)[]) {
  let reads = 0;
  const deps = {
    signaling: {
      request: async () => {
        const answer = answers[Math.min(reads++, answers.length - 1)]!;
        if (answer instanceof Error) throw answer;
        return { messages: answer };
      },
    },
    capture: { track: () => Promise.reject(new Error('no capture')), screen: () => Promise.reject(new Error('no screen')) },
    store: memoryStore(),
    tracer: noTracer,
    events: new Emitter<ClientEvents>(),
    media: { cameraEncodings: CAMERA_ENCODINGS, subscribe: true, iceTransportPolicy: 'all' },
    checkSignaling: async () => 'alive',
  } as unknown as CallDeps;
  return { chat: new RoomChat(deps), store: deps.store, reads: () => reads };
}

describe('a room’s chat catching up', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('reads the history again while the store is out of reach, and merges what it finally gets', async () => {
    vi.useFakeTimers();
    const unavailable = new ParleyError('STORE_UNAVAILABLE', 'cut off');
    const { chat, store, reads } = chatWith([unavailable, unavailable, [message(1), message(2)]]);
    store.set('chat', [message(2)]);
    chat.catchUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(reads()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reads()).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(reads()).toBe(3);
    expect(store.get('chat').map((m) => m.seq)).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads()).toBe(3);
  });

  it('gives up on a refusal at once, after a minute of the store out of reach, quietly on a closed connection; stop ends the retries', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const refused = chatWith([new ParleyError('FORBIDDEN', 'no chat grant')]);
    refused.chat.catchUp();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refused.reads()).toBe(1);

    const cut = chatWith([new ParleyError('STORE_UNAVAILABLE', 'cut off')]);
    cut.chat.catchUp();
    await vi.advanceTimersByTimeAsync(120_000);
    // 1 + 1 s + 2 s + 15 × 4 s: 18 reads over 63 s.
    expect(cut.reads()).toBe(18);

    // The connection closed under the read: the resume on the next one reads again; nothing to say or retry.
    const warn = vi.mocked(console.warn);
    const warned = warn.mock.calls.length;
    const dropped = chatWith([new ConnectionClosed('dropped')]);
    dropped.chat.catchUp();
    await vi.advanceTimersByTimeAsync(60_000);
    expect([dropped.reads(), warn.mock.calls.length]).toEqual([1, warned]);

    const stopped = chatWith([new ParleyError('STORE_UNAVAILABLE', 'cut off')]);
    stopped.chat.catchUp();
    await vi.advanceTimersByTimeAsync(0);
    stopped.chat.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(stopped.reads()).toBe(1);
  });
});
