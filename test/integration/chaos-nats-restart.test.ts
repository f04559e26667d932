import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot, waitFor } from '../../bots/bot.ts';
import type { Bus } from '../../bus/bus.ts';
import { connectBus } from '../../bus/connect.ts';
import { natsOptionsFromEnv } from '../../bus/nats-options.ts';
import { NatsBus } from '../../bus/nats.ts';
import { ParleyError } from '../../protocol/errors.ts';
import type { Lobby } from '../../protocol/presence.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { startControlledNats } from '../../harness/nats-control.ts';
import type { ControlledNats } from '../../harness/nats-control.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * Chaos: nats-server restarts (stopped, then started on the same port and JetStream store) under a live room
 * spread over a Node and a Deno signaling instance. The other chaos cases are covered elsewhere: a killed
 * mediasoup worker (media-plane.test.ts, e2e/worker-recovery.test.ts), a killed media-worker instance
 * (cross-instance.test.ts, multi-host.test.ts), a killed signaling instance (signaling-protocol.test.ts,
 * session-resume.test.ts).
 *
 * After the restart, within 5 s: media keeps flowing both ways, a signaling round trip through NATS works for
 * a member already in the room (mute reaches the other side), a newcomer joins and decodes everyone, every
 * lobby (Node and Deno) lists each participant exactly once, and nobody saw anybody leave.
 */
const ROOM = 'chaos-nats';
const DOWN_MS = 1500;
const RECOVERY_BUDGET_MS = 5000;
/** Clients are back ~0.1-0.4 s after the server (reconnect wait 250 ms + jitter); well under a request timeout. */
const FIRST_REQUEST_BUDGET_MS = 2500;

describe('chaos: nats-server restart under a live room', () => {
  let nats: ControlledNats;
  let cluster: Cluster;
  const bots: Bot[] = [];
  const watchers: TestClient[] = [];

  beforeAll(async () => {
    nats = await startControlledNats();
    cluster = await startDistributed({ nats, signaling: ['node', 'deno'], env: { SESSION_GRACE_MS: '20000' } });
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    watchers.forEach((w) => w.close());
    await cluster?.stop();
  });

  const join = async (name: string, instance: number) => {
    const bot = await Bot.join({ url: cluster.signaling[instance]!, room: ROOM, name, token: await token(name) });
    bots.push(bot);
    return bot;
  };
  const decoded = async (bot: Bot) => (await bot.stats()).videoFramesDecoded;
  const lastLobby = (w: TestClient) => w.notifications.findLast((n) => n.notification === 'lobby')?.data as Lobby | undefined;
  const roomNames = (lobby: Lobby | undefined) =>
    (lobby?.rooms.find((r) => r.roomId === ROOM)?.participants ?? []).map((p) => `${p.displayName}:${p.connected}`).sort();

  it('keeps media, signaling, presence and membership consistent through a restart, back within 5 s', async () => {
    const ada = await join('Ada', 0);
    const bob = await join('Bob', 1);
    await Promise.all([ada.publish(), bob.publish()]);
    await waitFor('Ada and Bob to decode each other', async () => (await decoded(ada)) > 0 && (await decoded(bob)) > 0);
    for (const base of cluster.signaling) {
      const w = await TestClient.open(wsUrl(base, await token(`Watcher${watchers.length}`)));
      expect((await w.request('subscribeLobby')).ok).toBe(true);
      watchers.push(w);
    }
    const expectedBefore = ['Ada:true', 'Bob:true'];
    await waitFor('both lobbies to list Ada and Bob', () =>
      watchers.every((w) => roomNames(lastLobby(w)).join() === expectedBefore.join()),
    );

    // Restart.
    const seen = { ada: await decoded(ada), bob: await decoded(bob) };
    await nats.halt();
    const haltedAt = Date.now();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    // Media does not need NATS: it keeps flowing while the bus is down.
    const duringOutage = { ada: await decoded(ada), bob: await decoded(bob) };
    await nats.start();
    const restartedAt = Date.now();
    console.log(`nats-server down for ${restartedAt - haltedAt} ms`);

    const timings: Record<string, number> = {};
    const since = () => Date.now() - restartedAt;
    const media = (async () => {
      await waitFor(
        'media to keep flowing both ways',
        async () => (await decoded(ada)) > duringOutage.ada + 10 && (await decoded(bob)) > duringOutage.bob + 10,
        10_000,
      );
      timings.media = since();
    })();
    const signaling = (async () => {
      // A round trip over NATS for members already in the room: Ada's mute must reach Bob through the room events.
      const camera = ada.producerId('camera')!;
      await waitFor(
        'Ada’s mute to reach Bob',
        async () => {
          await ada.setPaused('camera', true).catch(() => undefined);
          return bob.pausedProducers.has(camera);
        },
        15_000,
      );
      timings.mute = since();
      await ada.setPaused('camera', false);
      await waitFor('Ada’s unmute to reach Bob', () => !bob.pausedProducers.has(camera), 5000);
      timings.signaling = since();
    })();
    const newcomer = (async () => {
      const cara = await waitFor('Cara to be able to join', async () => join('Cara', 1).catch(() => undefined), 15_000);
      timings.join = since();
      await cara.publish({ audio: false, video: true });
      await waitFor(
        'Cara to decode Ada and Bob',
        async () => {
          const consumers = cara.remoteConsumers().filter((c) => c.kind === 'video').length;
          return consumers === 2 && (await decoded(cara)) > 20;
        },
        15_000,
      );
      await waitFor(
        'Ada and Bob to consume Cara',
        () => [ada, bob].every((b) => b.remoteConsumers().some((c) => c.peerId === cara.peerId && c.kind === 'video')),
        10_000,
      );
      timings.newcomer = since();
    })();
    const outcomes = await Promise.allSettled([media, signaling, newcomer]);
    const lobbyDeadline = Date.now() + 15_000;
    const expectedAfter = ['Ada:true', 'Bob:true', 'Cara:true'];
    while (Date.now() < lobbyDeadline && !watchers.every((w) => roomNames(lastLobby(w)).join() === expectedAfter.join())) {
      await new Promise((r) => setTimeout(r, 200));
    }
    timings.lobby = since();
    const lobbies = watchers.map((w) => roomNames(lastLobby(w)));
    console.log(
      `after the nats-server restart (ms since it was back): ${JSON.stringify(timings)}; lobbies ${JSON.stringify(lobbies)}`,
    );
    for (const o of outcomes) if (o.status === 'rejected') console.log(`not recovered: ${(o.reason as Error).message}`);
    if (outcomes.some((o) => o.status === 'rejected')) {
      const connz = await nats
        .monitor<{ connections: { name?: string; subscriptions: number }[] }>('/connz')
        .catch(() => undefined);
      console.log(`NATS clients after recovery: ${JSON.stringify(connz?.connections.map((c) => [c.name, c.subscriptions]))}`);
      console.log(
        `Ada: peers ${[...ada.peers.values()].map((p) => p.displayName)}, consumers ${ada.remoteConsumers().length}; Bob: consumers ${bob.remoteConsumers().length}`,
      );
      for (const p of cluster.processes) console.log(`--- process log:\n${p.output().slice(-2000)}`);
    }
    expect(duringOutage.ada).toBeGreaterThan(seen.ada);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(lobbies).toEqual([expectedAfter, expectedAfter]);
    // Nobody lost or duplicated, and nobody saw anyone leave.
    expect([...ada.peers.values()].map((p) => p.displayName).sort()).toEqual(['Bob', 'Cara']);
    expect([...bob.peers.values()].map((p) => p.displayName).sort()).toEqual(['Ada', 'Cara']);
    expect(ada.resets + bob.resets).toBe(0);
    for (const t of ['media', 'signaling', 'newcomer'] as const) expect(timings[t]).toBeLessThan(RECOVERY_BUDGET_MS);
    // The first requests after the restart must not wait out a request timeout (5 s) on the way.
    for (const t of ['mute', 'join'] as const) expect(timings[t]).toBeLessThan(FIRST_REQUEST_BUDGET_MS);
  });
});

/**
 * The mechanism under the case above, on the bus alone. nats.js drops whatever was queued for sending when it
 * dials again, so a request made while the server is away used to be lost and reported only by its timeout.
 */
describe('NatsBus across a nats-server restart', () => {
  let nats: ControlledNats;
  const buses: Bus[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const open = async (name: string) => {
    const bus = await connectBus(natsOptionsFromEnv({ NATS_URL: nats.url }, 'combined'), name);
    buses.push(bus);
    return bus;
  };
  const restart = async (downMs: number) => {
    await nats.halt();
    await sleep(downMs);
    await nats.start();
    return Date.now();
  };

  beforeAll(async () => {
    nats = await startControlledNats();
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  it('sends a request and a KV read made during the outage as soon as the server is back', async () => {
    const [responder, requester] = [await open('responder'), await open('requester')];
    responder.serve('chaos.echo', async (msg) => msg.data);
    const kv = await requester.kv('chaos-bus');
    await kv.put('key', 1);
    await Promise.all([responder.flush(), requester.flush()]);
    await nats.halt();
    await sleep(100);
    const reply = requester.request('chaos.echo', 'hello');
    const entry = kv.get('key');
    await sleep(600);
    await nats.start();
    const back = Date.now();
    expect(await reply).toBe('hello');
    expect((await entry)?.value).toBe(1);
    console.log(`request and KV read made during the outage answered ${Date.now() - back} ms after the server was back`);
    expect(Date.now() - back).toBeLessThan(1500);
  });

  it('asks again while the responder is still reconnecting instead of reporting nobody there', async () => {
    // This responder comes back 1.5 s after the drop, well after the requester.
    const late = new NatsBus(
      await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 1500, reconnectJitter: 0 }),
    );
    buses.push(late);
    late.serve('chaos.late', async () => 'here');
    const requester = await open('early requester');
    requester.serve('chaos.self', async () => 'me');
    await Promise.all([late.flush(), requester.flush()]);
    const back = await restart(200);
    // Answered by itself: the requester is connected again, the responder not yet (nobody serves chaos.late).
    await requester.request('chaos.self', null);
    expect(await requester.request('chaos.late', null)).toBe('here');
    console.log(`request to a responder still reconnecting answered ${Date.now() - back} ms after the server was back`);
    expect(Date.now() - back).toBeLessThan(2500);
  });

  it('fails a request at once when the connection drops under it, not at its timeout', async () => {
    const [responder, requester] = [await open('slow responder'), await open('requester')];
    responder.serve('chaos.slow', () => sleep(1000).then(() => 'late'));
    await Promise.all([responder.flush(), requester.flush()]);
    const failure = requester.request('chaos.slow', null, { timeoutMs: 5000 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await sleep(200);
    const dropped = Date.now();
    try {
      await nats.halt();
      const err = await failure;
      expect(err).toBeInstanceOf(ParleyError);
      expect((err as ParleyError).code).toBe('UNAVAILABLE');
      expect(Date.now() - dropped).toBeLessThan(1500);
    } finally {
      await nats.start();
    }
  });
});
