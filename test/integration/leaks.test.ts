import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import type { Lobby } from '../../protocol/presence.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { startControlledNats } from '../../harness/nats-control.ts';
import type { ControlledNats } from '../../harness/nats-control.ts';
import { RegistryReader } from '../../harness/registry.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * Leaks: join/leave cycles (a participant joins, publishes, consumes the resident publisher, leaves; every
 * other cycle in a room of its own) must return the media-worker's routers, transports, producers and
 * consumers (registry), the lobby's presence entries and the nats-server's subscriptions to their baseline.
 * RSS of the media-worker, its mediasoup worker and signaling is reported. PARLEY_LEAK_CYCLES=200 is the full size.
 */
const CYCLES = Number(process.env.PARLEY_LEAK_CYCLES ?? 30);
const ROOM = 'leak-home';

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

describe(`leaks: ${CYCLES} join/publish/consume/leave cycles`, () => {
  let nats: ControlledNats;
  let cluster: Cluster;
  let registry: RegistryReader;
  let resident: Bot;
  let watcher: TestClient;

  beforeAll(async () => {
    nats = await startControlledNats();
    cluster = await startDistributed({ nats });
    registry = await RegistryReader.open(nats.url);
    resident = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Resident', token: await token('Resident') });
    await resident.publish();
    watcher = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Watcher')));
    await watcher.request('subscribeLobby');
  });
  afterAll(async () => {
    watcher?.close();
    resident?.close();
    await registry?.close();
    await cluster?.stop();
  });

  const snapshot = async () => {
    const [load] = await registry.loads();
    // Subscriptions of the deployment's processes (named connections), not of this test's own registry reader.
    const connz = await nats.monitor<{ connections: { name?: string; subscriptions: number }[] }>('/connz?limit=1000');
    const subscriptions = Object.fromEntries(
      connz.connections.filter((c) => c.name).map((c) => [c.name!.split(' ')[0]!, c.subscriptions]),
    );
    const lobby = watcher.notifications.findLast((n) => n.notification === 'lobby')?.data as Lobby | undefined;
    const presence = (lobby?.rooms ?? []).reduce((n, r) => n + r.participants.length, 0);
    const { routers, transports, producers, consumers } = load!;
    return { routers, transports, producers, consumers, presence, subscriptions };
  };
  const rss = () => {
    const [mediaWorker, signaling] = cluster.processes;
    return { mediaWorker: rssKiB(mediaWorker!.child.pid!), signaling: rssKiB(signaling!.child.pid!) };
  };
  /** The registry heartbeat (2 s) and the lobby (coalesced) lag: wait until they settle on `expected`. */
  const settle = async (expected: Awaited<ReturnType<typeof snapshot>>, timeoutMs = 15_000) => {
    let last = await snapshot();
    await waitFor(
      'the counts to return to baseline',
      async () => {
        last = await snapshot();
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      timeoutMs,
    ).catch(() => undefined);
    return last;
  };

  it('returns media objects, presence and NATS subscriptions to baseline; RSS growth is reported', {
    timeout: 60_000 + CYCLES * 2000,
  }, async () => {
    await waitFor(
      'the registry to show the resident',
      async () => (await snapshot()).producers === 2 && (await snapshot()).presence === 1,
      10_000,
    );
    const baseline = await snapshot();
    const workerPid = (await registry.loads())[0]!.perWorker[0]!.pid;
    const rssBefore = { ...rss(), mediasoupWorker: rssKiB(workerPid) };
    const started = Date.now();
    for (let i = 0; i < CYCLES; i++) {
      const room = i % 2 ? `leak-${i}` : ROOM;
      const bot = await Bot.join({ url: cluster.signaling[0]!, room, name: `Cycler${i}`, token: await token(`Cycler${i}`) });
      await bot.publish({ audio: true, video: true });
      if (room === ROOM) await waitFor('the cycler to consume the resident', () => bot.remoteConsumers().length === 2, 10_000);
      await bot.leave();
    }
    const cyclesMs = Date.now() - started;
    const after = await settle(baseline);
    const rssAfter = { ...rss(), mediasoupWorker: rssKiB(workerPid) };
    const growth = Object.fromEntries(
      Object.entries(rssAfter).map(([k, v]) => [k, `${Math.round((v - rssBefore[k as keyof typeof rssBefore]) / 1024)} MiB`]),
    );
    console.log(
      `${CYCLES} cycles in ${cyclesMs} ms; baseline ${JSON.stringify(baseline)}, after ${JSON.stringify(after)}; ` +
        `RSS before ${JSON.stringify(rssBefore)} KiB, after ${JSON.stringify(rssAfter)} KiB, growth ${JSON.stringify(growth)}`,
    );
    expect(after).toEqual(baseline);
    // The resident's media still flows to a newcomer: nothing was torn down with the cyclers.
    const last = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Last', token: await token('Last') });
    try {
      await waitFor('a newcomer to decode the resident', async () => (await last.stats()).videoFramesDecoded > 0, 10_000);
    } finally {
      last.close();
    }
  });
});
