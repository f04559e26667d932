import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { startTcpProxy } from '../../harness/tcp-proxy.ts';
import type { TcpProxy } from '../../harness/tcp-proxy.ts';
import { waitFor } from '../../harness/wait.ts';
import { TestClient } from '../../harness/ws-client.ts';

const HEARTBEAT_S = 1;

/**
 * A client whose network vanishes sends no FIN: signaling pings every client (SIGNALING_HEARTBEAT_S) and closes
 * the one that stopped answering, so its membership enters the grace period instead of looking connected until
 * TCP gives up. A quiet client that answers stays. Node (ws) and Deno (idleTimeout) each do it their own way.
 */
describe('the signaling heartbeat', () => {
  let cluster: Cluster;
  const proxies: TcpProxy[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await startDistributed({ signaling: ['node', 'deno'], env: { SIGNALING_HEARTBEAT_S: String(HEARTBEAT_S) } });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all(proxies.map((p) => p.stop()));
    await cluster?.stop();
  });

  const gauge = async (base: string, name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  };
  const joined = async (base: string, name: string) => {
    const client = await TestClient.open(wsUrl(base, await token(name)));
    clients.push(client);
    expect(await client.request('join', { room: 'heartbeat' })).toMatchObject({ ok: true });
    return client;
  };

  for (const [i, runtime] of ['node', 'deno'].entries()) {
    it(`${runtime}: closes a socket whose network vanished, keeps a quiet one, and holds the membership for its grace`, async () => {
      const base = cluster.signaling[i]!;
      const proxy = await startTcpProxy(base);
      proxies.push(proxy);
      const quiet = await joined(base, `Quiet-${runtime}`);
      await joined(proxy.url, `Gone-${runtime}`);
      expect(await gauge(base, 'parley_signaling_connections')).toBe(2);
      proxy.freeze();
      const frozenAt = Date.now();
      await waitFor(
        'the vanished client’s socket to be closed',
        async () => (await gauge(base, 'parley_signaling_connections')) === 1,
        10_000,
      );
      const closedMs = Date.now() - frozenAt;
      console.log(`${runtime}: a client whose network vanished was closed after ${closedMs} ms (heartbeat ${HEARTBEAT_S} s)`);
      expect(closedMs).toBeLessThan(HEARTBEAT_S * 1000 * 3 + 1000);
      expect(await gauge(base, 'parley_signaling_memberships')).toBe(2);
      // The quiet one has sent nothing since its join, and answered every ping.
      await new Promise((r) => setTimeout(r, HEARTBEAT_S * 3000));
      expect(quiet.ws.readyState).toBe(quiet.ws.OPEN);
      expect(await quiet.request('ping', {})).toMatchObject({ ok: true });
    });
  }
});
