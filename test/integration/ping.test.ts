import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * `ping`, which the client sends after a network change to learn whether its socket survived: answered at once
 * on any authenticated connection, joined or not, and no way around the request rules (strict empty data, the
 * rate limit) for whoever floods it.
 */
describe('ping', () => {
  let cluster: Cluster;
  const clients: TestClient[] = [];
  const open = async (name: string) => {
    const c = await TestClient.open(wsUrl(cluster.signaling[0]!, await token(name)));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startEmbedded();
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await cluster?.stop();
  });

  it('is answered before and during a membership, and while a join is in flight', async () => {
    const c = await open('Pinger');
    expect(await c.request('ping')).toMatchObject({ ok: true, data: {} });
    const [joined, pong] = await Promise.all([c.request('join', { room: 'ping' }), c.request('ping')]);
    expect(joined.ok).toBe(true);
    expect(pong).toMatchObject({ ok: true, data: {} });
    expect(await c.request('ping')).toMatchObject({ ok: true });
  });

  it('refuses data it does not take, and a flood is rate-limited without closing the socket', async () => {
    const c = await open('Flooder');
    expect(await c.request('ping', { extra: 'x'.repeat(1000) })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const replies = await c.burst(300, (i) => JSON.stringify({ id: 1000 + i, method: 'ping', data: {} }));
    const limited = replies.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length;
    console.log(`300 pings at once: ${300 - limited} answered, ${limited} RATE_LIMITED`);
    expect(limited).toBeGreaterThan(0);
    expect(replies.every((r) => r.ok || r.error.code === 'RATE_LIMITED')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await c.request('ping')).toMatchObject({ ok: true });
  });
});
