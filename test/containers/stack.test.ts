import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinFromLobby, launchChromium, selectedPair } from '../../harness/browser.ts';
import { expectMediaFlowing, mediaByPeer, waitUntil } from '../../harness/media-checks.ts';
import { containerOf, leftovers, openStackPage, startStack } from '../../harness/stack.ts';
import type { RunningStack } from '../../harness/stack.ts';
import { wsUrl } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { DebugRoomsResponse } from '../../protocol/http.ts';
import { podman } from '../../scripts/stack/podman.ts';
import { COTURN, MEDIA_WORKERS, SIGNALING, turnUrls } from '../../scripts/stack/services.ts';
import { issueToken } from '../../signaling/auth.ts';

/**
 * The distributed stack in containers (`npm run stack -- up`: NATS ×3, media-worker ×2, coturn, signaling on Node
 * and on Deno, web, Caddy, Prometheus), used as a newcomer would: Chromium opens the printed address, two users see
 * and hear each other through the proxy. Then the operator's view (/debug/api through the proxy), a media-worker
 * container killed and a signaling container stopped under the call, two users forced to relay (`?ice=relay`)
 * through the stack's coturn, and `down`.
 */
describe('the stack in containers', () => {
  let stack: RunningStack;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const room = 'stack-call';

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack('stack-test'), launchChromium()]);
    console.log(`stack up in ${Math.round(stack.upMs / 1000)} s (images included when they had to be built)`);
  }, 35 * 60_000);
  afterAll(async () => {
    await browser?.close();
    if (stack && (await leftovers(stack.name)).length > 0) await stack.down();
  }, 180_000);

  /**
   * Runs a function in the page. While the client rebuilds its media (mediaReset, a resume), a stats call can meet
   * a transport closing under it (InvalidStateError): such a poll is asked again, for at most 5 s.
   */
  const run =
    (page: Page) =>
    async <T>(fn: () => T | Promise<T>): Promise<T> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          return await page.evaluate(fn);
        } catch (err) {
          if (Date.now() > deadline || !/InvalidStateError|closed/.test(String(err))) throw err;
          await page.waitForTimeout(100);
        }
      }
    };
  const mediaWorkerAddresses = () => MEDIA_WORKERS.map((w) => stack.state.addresses[w]);
  const adminToken = () => issueToken(stack.state.secret, { identity: 'ops', name: 'Ops', admin: true });
  const rooms = async () => {
    const res = await fetch(`${stack.url}/debug/api/rooms`, { headers: { authorization: `Bearer ${await adminToken()}` } });
    return DebugRoomsResponse.parse(await res.json());
  };

  it('two users open the printed address, join one room and see and hear each other', async () => {
    // The stack is a deployment: no development tokens for anyone who asks.
    const devToken = await fetch(`${stack.url}/api/dev/token`, { method: 'POST', body: '{"name":"X"}' });
    expect(devToken.status).toBe(404);
    alice = await openStackPage(browser, stack);
    bob = await openStackPage(browser, stack);
    await joinFromLobby(alice, room, 'Alice');
    await joinFromLobby(bob, room, 'Bob');
    await Promise.all([expectMediaFlowing(run(alice), 1, 'Alice'), expectMediaFlowing(run(bob), 1, 'Bob')]);
  });

  it('/debug/api/rooms through the proxy: JSON for an admin token, 401 without one or with a forged one, 403 for a user', async () => {
    const url = `${stack.url}/debug/api/rooms`;
    const status = async (token?: string) =>
      (await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status;
    expect(await status()).toBe(401);
    expect(await status(await issueToken('not-the-stack-secret-0123456789', { identity: 'x', name: 'X', admin: true }))).toBe(
      401,
    );
    expect(await status(await issueToken(stack.state.secret, { identity: 'u', name: 'User' }))).toBe(403);
    const res = await fetch(url, { headers: { authorization: `Bearer ${await adminToken()}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = DebugRoomsResponse.parse(await res.json());
    const peers = body.rooms.filter((r) => r.roomId === room).flatMap((r) => r.peers.map((p) => p.displayName));
    expect(peers.sort()).toEqual(['Alice', 'Bob']);
    // Prometheus scrapes each instance on the private network; the public address does not serve metrics.
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(404);
  });

  it('podman kill of the media-worker container under the call: both see video again within 5 s', async () => {
    const hosts = [...new Set((await rooms()).rooms.filter((r) => r.roomId === room).map((r) => r.instanceId))];
    expect(hosts).toHaveLength(1);
    const consumerIds = (page: Page) => page.evaluate(() => window.parley?.call?.consumers().map((c) => c.id) ?? []);
    const before = [await consumerIds(alice), await consumerIds(bob)] as const;
    const peersBefore = [Object.keys(await mediaByPeer(run(alice))), Object.keys(await mediaByPeer(run(bob)))];

    const killedAt = Date.now();
    await podman(['kill', containerOf(stack, hosts[0]!)]);
    const killMs = Date.now() - killedAt;
    // Each page's own milestones, so that a slow recovery says which step was slow.
    const recovery = async (page: Page, old: string[]) => {
      let freshAt = 0;
      await waitUntil(
        'the page decodes video from new consumers',
        async () => {
          const ids = await consumerIds(page);
          if (!freshAt && ids.length > 0 && ids.every((id) => !old.includes(id))) freshAt = Date.now() - killedAt;
          return freshAt > 0 && Object.values(await mediaByPeer(run(page))).some((m) => m.videoFrames > 0);
        },
        15_000,
      );
      return { consumers: freshAt, video: Date.now() - killedAt };
    };
    const [a, b] = await Promise.all([recovery(alice, before[0]), recovery(bob, before[1])]);
    const recoveredMs = Math.max(a.video, b.video);
    console.log(
      `media-worker container killed (podman kill ${killMs} ms): new consumers / video again at Alice ${a.consumers} / ${a.video} ms, Bob ${b.consumers} / ${b.video} ms`,
    );
    expect(recoveredMs).toBeLessThan(5000);
    // Same peers (mediaReset, no rejoin), now on the other media-worker.
    expect(Object.keys(await mediaByPeer(run(alice)))).toEqual(peersBefore[0]);
    expect(Object.keys(await mediaByPeer(run(bob)))).toEqual(peersBefore[1]);
    const after = (await rooms()).rooms.filter((r) => r.roomId === room && r.peers.length > 0);
    expect(after.map((r) => r.instanceId)).not.toContain(hosts[0]);
  });

  it('podman stop of a signaling container: its clients resume on the other instance, media intact', async () => {
    const connections = async (service: string) => {
      const res = await fetch(`http://${stack.state.addresses[service]}:3000/metrics`).catch(() => undefined);
      const m = /^parley_signaling_connections(?:\{[^}]*\})? (\d+)/m.exec((await res?.text()) ?? '');
      return m ? Number(m[1]) : 0;
    };
    const counts = await Promise.all(SIGNALING.map(connections));
    // Caddy balances by least connections; stop the instance that serves the most of our two users.
    const doomed = counts[0]! >= counts[1]! ? SIGNALING[0]! : SIGNALING[1]!;
    const survivor = SIGNALING.find((s) => s !== doomed)!;
    expect(Math.max(...counts)).toBeGreaterThan(0);
    const peersBefore = [Object.keys(await mediaByPeer(run(alice))), Object.keys(await mediaByPeer(run(bob)))];

    const stoppedAt = Date.now();
    await podman(['stop', containerOf(stack, doomed)]);
    const stopMs = Date.now() - stoppedAt;
    await waitUntil(`both users connected to ${survivor}`, async () => (await connections(survivor)) === 2, 30_000);
    const movedMs = Date.now() - stoppedAt;
    await Promise.all([expectMediaFlowing(run(alice), 1, 'Alice'), expectMediaFlowing(run(bob), 1, 'Bob')]);
    console.log(
      `signaling ${doomed} stopped (podman stop took ${stopMs} ms, drain included): both users on ${survivor} after ${movedMs} ms`,
    );
    // Resumed, not rejoined: the same remote peer on each side, and the room still has both.
    expect(Object.keys(await mediaByPeer(run(alice)))).toEqual(peersBefore[0]);
    expect(Object.keys(await mediaByPeer(run(bob)))).toEqual(peersBefore[1]);
    expect(await alice.getByTestId('remote-tile').count()).toBe(1);
  });

  it("relay-only users (?ice=relay) see and hear each other through the stack's coturn; every selected pair is a relay", async () => {
    const coturn = stack.state.addresses[COTURN]!;
    const carol = await openStackPage(browser, stack, '?ice=relay');
    const dave = await openStackPage(browser, stack, '?ice=relay');
    try {
      const joinedAt = Date.now();
      await joinFromLobby(carol, 'stack-relay', 'Carol');
      await joinFromLobby(dave, 'stack-relay', 'Dave');
      await Promise.all([expectMediaFlowing(run(carol), 1, 'Carol'), expectMediaFlowing(run(dave), 1, 'Dave')]);
      const protocols: string[] = [];
      for (const page of [carol, dave]) {
        for (const direction of ['send', 'recv'] as const) {
          const pair = await selectedPair(page, direction);
          // Relayed by the stack's coturn to a media-worker.
          expect(pair?.local).toMatchObject({ candidateType: 'relay', address: coturn });
          expect(mediaWorkerAddresses()).toContain(pair?.remote.address);
          protocols.push(String(pair?.local.relayProtocol));
        }
      }
      console.log(
        `relay-only users: media flowing both ways ${Date.now() - joinedAt} ms after the first join; TURN over ${protocols.join(', ')}`,
      );
    } finally {
      // Left, not dropped: a dropped peer stays in its room for the resume window.
      for (const page of [carol, dave]) {
        await page
          .getByRole('button', { name: 'Leave' })
          .click()
          .catch(() => undefined);
        await page.context().close();
      }
    }
  }, 150_000);

  it("signaling hands out the stack's coturn; coturn relays to the media-workers and refuses any other peer (403)", async () => {
    const coturn = stack.state.addresses[COTURN]!;
    const socket = await TestClient.open(
      wsUrl(stack.url, await issueToken(stack.state.secret, { identity: 'erin', name: 'Erin' })),
    );
    const joined = await socket.request('join', { room: 'stack-turn-peers' });
    await socket.request('leave');
    socket.close();
    if (!joined.ok) throw new Error(JSON.stringify(joined.error));
    const [server] = (joined.data as { iceServers: { urls: string[]; username: string; credential: string }[] }).iceServers;
    expect(server?.urls).toEqual(turnUrls(coturn));
    expect(server?.username).toMatch(/^\d+:erin$/);
    // A TURN client with that credential, on the stack's network (coturn's own turnutils_uclient), asking coturn
    // for a permission to a media-worker and to the proxy.
    const uclient = (peer: string) =>
      podman(
        [
          'exec',
          containerOf(stack, COTURN),
          'turnutils_uclient',
          ...['-u', server!.username, '-w', server!.credential, '-e', peer, '-r', '40000', '-n', '1', '-c', coturn],
        ],
        { combined: true },
      ).catch((err: Error & { stderr?: string }) => err.stderr ?? err.message);
    const toWorker = await uclient(stack.state.addresses[MEDIA_WORKERS[0]!]!);
    expect(toWorker).toMatch(/Total transmit time/);
    expect(toWorker).not.toMatch(/403|Forbidden/);
    const toProxy = await uclient(stack.state.addresses.proxy!);
    expect(toProxy).toMatch(/error 403 \(Forbidden IP\)/);
    console.log(
      `coturn to the proxy: ${toProxy
        .split('\n')
        .find((l) => /403/.test(l))
        ?.trim()}`,
    );
  });

  it('NATS refuses a wrong password, no credentials and plain TCP, each with one readable line', async () => {
    const image = (await podman(['inspect', '--format', '{{.ImageName}}', containerOf(stack, 'signaling-node')])).trim();
    // A signaling process of the stack's image on the stack's network, with a credential of the test's choosing.
    const attempt = async (env: Record<string, string>) => {
      const args = ['run', '--rm', '--no-healthcheck', '--network', stack.name];
      args.push('--add-host', `nats-1:${stack.state.addresses['nats-1']}`);
      args.push('--volume', `${stack.state.natsCaFile}:/etc/parley/nats-ca.pem:ro`);
      for (const [k, v] of Object.entries({ PARLEY_SECRET: 'a-secret-of-the-tests-own-0123456789', ...env }))
        args.push('--env', `${k}=${v}`);
      return podman([...args, image], { combined: true }).then(
        (out) => ({ refused: false, out }),
        (err: Error & { stderr?: string }) => ({ refused: true, out: err.stderr ?? err.message }),
      );
    };
    const tls = { NATS_URL: 'tls://nats-1:4222', NATS_TLS_CA: '/etc/parley/nats-ca.pem' };
    const wrong = await attempt({ ...tls, NATS_USER: 'parley-signaling', NATS_PASSWORD: 'not-the-password' });
    expect(wrong.refused).toBe(true);
    expect(wrong.out).toMatch(
      /cannot connect to NATS at tls:\/\/nats-1:4222 as user parley-signaling: .*Authorization Violation.*check NATS_USER\/NATS_PASSWORD/i,
    );
    const none = await attempt(tls);
    expect(none.refused).toBe(true);
    expect(none.out).toMatch(/cannot connect to NATS .* as no credentials: .*Authorization Violation/i);
    const plain = await attempt({ NATS_URL: 'nats://nats-1:4222', NATS_USER: 'parley-signaling', NATS_PASSWORD: 'x' });
    expect(plain.refused).toBe(true);
    expect(plain.out).toMatch(/cannot connect to NATS at nats:\/\/nats-1:4222 .*tls/i);
    for (const r of [wrong, none, plain]) console.log(`refused: ${r.out.trim().split('\n').at(-1)}`);
    // The server says so too.
    const serverLog = await podman(['logs', containerOf(stack, 'nats-1')], { combined: true });
    expect(serverLog).toMatch(/authentication error - User "parley-signaling"/);
  });

  it('down leaves no container, pod, network or secret behind', async () => {
    await alice.context().close();
    await bob.context().close();
    const output = await stack.down();
    expect(output).toMatch(/down: removed \d+ containers/);
    expect(await leftovers(stack.name)).toEqual([]);
  });
});
