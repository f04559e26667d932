import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../client/connection.ts';
import type { ConnectionEvents } from '../../client/connection.ts';
import { noTracer } from '../../client/host.ts';
import { Throttle } from '../../client/network-watch.ts';

/**
 * A WebSocket that a test plays the server of: it opens on the next tick, records what the client sends, and
 * answers only when told. Its close() never fires `close`, as a socket whose network is gone does.
 */
class FakeSocket {
  static all: FakeSocket[] = [];
  sent: { id: number; method: string }[] = [];
  closedWith?: number;
  private listeners = new Map<string, ((event: never) => void)[]>();

  constructor() {
    FakeSocket.all.push(this);
    setTimeout(() => this.fire('open', {}), 0);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { id: number; method: string });
  }

  close(code?: number): void {
    this.closedWith = code;
  }

  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  answer(message: unknown): void {
    this.fire('message', { data: JSON.stringify(message) });
  }

  private fire(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event as never);
  }
}

function events(): ConnectionEvents & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    notification: () => undefined,
    lost: (reason) => void log.push(`lost: ${reason}`),
    reopened: async () => void log.push('reopened'),
    failed: (message) => void log.push(`failed: ${message}`),
  };
}

function open(log: ReturnType<typeof events>): Promise<Connection> {
  return Connection.open(
    {
      urls: ['http://signaling.test'],
      token: async () => 'token',
      tracer: noTracer,
      WebSocket: FakeSocket,
      renewableToken: true,
    },
    log,
  );
}

afterEach(() => {
  FakeSocket.all = [];
  vi.useRealTimers();
});

describe('network changes: one reaction per burst', () => {
  it('acts on the first event at once and once more after the burst, with its latest event', () => {
    vi.useFakeTimers();
    const acted: string[] = [];
    const throttle = new Throttle((what) => acted.push(what), 500);
    throttle.push('online');
    throttle.push('connection 4g → 3g');
    throttle.push('connection 3g → 4g');
    expect(acted).toEqual(['online']);
    vi.advanceTimersByTime(500);
    expect(acted).toEqual(['online', 'connection 3g → 4g']);
    vi.advanceTimersByTime(5000);
    expect(acted).toHaveLength(2);
    throttle.push('online');
    expect(acted).toHaveLength(3);
  });

  it('a lone event acts once; stop drops what is pending', () => {
    vi.useFakeTimers();
    const acted: string[] = [];
    const throttle = new Throttle((what) => acted.push(what), 500);
    throttle.push('online');
    vi.advanceTimersByTime(1000);
    expect(acted).toEqual(['online']);
    throttle.push('online');
    throttle.push('online');
    throttle.stop();
    vi.advanceTimersByTime(1000);
    expect(acted).toEqual(['online', 'online']);
  });
});

describe('checking the signaling socket after a network change', () => {
  it('a socket that answers the ping is kept', async () => {
    const log = events();
    const connection = await open(log);
    const socket = FakeSocket.all[0]!;
    const checking = connection.check(1000);
    expect(socket.sent.map((m) => m.method)).toEqual(['ping']);
    socket.answer({ id: socket.sent[0]!.id, ok: true, data: {} });
    expect(await checking).toBe('alive');
    expect(socket.closedWith).toBeUndefined();
    expect(log.log).toEqual([]);
  });

  it('a refusal is an answer too (a server from before ping)', async () => {
    const connection = await open(events());
    const socket = FakeSocket.all[0]!;
    const checking = connection.check(1000);
    socket.answer({ id: socket.sent[0]!.id, ok: false, error: { code: 'UNKNOWN_METHOD', message: 'unknown method ping' } });
    expect(await checking).toBe('alive');
  });

  it('a silent socket is given up after the deadline, without waiting for its close event, and resumed on a new one', async () => {
    const log = events();
    const connection = await open(log);
    const dead = FakeSocket.all[0]!;
    const pending = connection.request('subscribeLobby', {});
    const started = performance.now();
    expect(await connection.check(200)).toBe('reconnecting');
    expect(performance.now() - started).toBeLessThan(1000);
    // The request in flight on the dead socket fails now, not after its 10 s timeout.
    await expect(pending).rejects.toThrow(/connection closed: no answer after the network changed/);
    expect(dead.closedWith).toBe(4000);
    expect(log.log).toEqual(['lost: no answer after the network changed']);
    await vi.waitFor(() => expect(log.log).toContain('reopened'), { timeout: 2000 });
    expect(FakeSocket.all).toHaveLength(2);
    expect(connection.isOpen).toBe(true);
  });

  it('after the host was offline, the socket is given up at once, without a ping, and resumed on a new one', async () => {
    const log = events();
    const connection = await open(log);
    const old = FakeSocket.all[0]!;
    const pending = connection.request('subscribeLobby', {});
    expect(connection.giveUp('the host was offline')).toBe('reconnecting');
    // Again while the new socket is being opened (a burst of network events): still one reconnect.
    expect(connection.giveUp('the host was offline')).toBe('reconnecting');
    await expect(pending).rejects.toThrow(/connection closed: the host was offline/);
    expect(old.sent.map((m) => m.method)).toEqual(['subscribeLobby']);
    expect(old.closedWith).toBe(4000);
    await vi.waitFor(() => expect(log.log).toContain('reopened'), { timeout: 2000 });
    expect(FakeSocket.all).toHaveLength(2);
    expect(log.log.filter((l) => l.startsWith('lost'))).toHaveLength(1);
  });

  it('does nothing while a reconnect is already under way', async () => {
    const log = events();
    const connection = await open(log);
    connection.drop();
    // The fake never fires close for drop(): give it up as the network check would, then check again.
    expect(await connection.check(50)).toBe('reconnecting');
    expect(await connection.check(50)).toBe('reconnecting');
    expect(FakeSocket.all[0]!.sent.filter((m) => m.method === 'ping')).toHaveLength(1);
    await vi.waitFor(() => expect(log.log).toContain('reopened'), { timeout: 2000 });
    expect(log.log.filter((l) => l.startsWith('lost'))).toHaveLength(1);
  });
});
