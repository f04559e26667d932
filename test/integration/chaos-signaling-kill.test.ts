import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import { PRESENCE_TTL_MS } from '../../protocol/presence.ts';
import type { Lobby } from '../../protocol/presence.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * Chaos: one of two signaling instances is killed (SIGKILL, no drain). Its participant reconnects to the other
 * instance and resumes; media, which never passes through signaling, must keep flowing both ways, and every
 * lobby must show each participant exactly once, before and after the dead instance's presence expires.
 */
describe('chaos: a signaling instance is killed', () => {
  let cluster: Cluster;
  const bots: Bot[] = [];
  let watcher: TestClient;

  beforeAll(async () => {
    cluster = await startDistributed({ signaling: ['node', 'node'] });
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    watcher?.close();
    await cluster?.stop();
  });

  function lobbyNames(): string[] {
    const last = watcher.notifications.findLast((n) => n.notification === 'lobby');
    const lobby = (last?.data ?? { rooms: [] }) as Lobby;
    return lobby.rooms
      .filter((r) => r.roomId === 'chaos-sig')
      .flatMap((r) => r.participants.map((p) => p.displayName))
      .sort();
  }

  it('keeps media flowing and every participant listed once when the instance of one of them dies', async () => {
    const [doomed, survivor] = cluster.signaling as [string, string];
    const adaToken = await token('Ada');
    const ada = await Bot.join({ url: doomed, room: 'chaos-sig', name: 'Ada', token: adaToken, survivesDisconnect: true });
    const bob = await Bot.join({ url: survivor, room: 'chaos-sig', name: 'Bob', token: await token('Bob') });
    bots.push(ada, bob);
    await Promise.all([ada.publish(), bob.publish()]);
    const decoded = async (bot: Bot) => (await bot.stats()).videoFramesDecoded;
    await waitFor('both to decode each other', async () => (await decoded(ada)) > 0 && (await decoded(bob)) > 0);
    watcher = await TestClient.open(wsUrl(survivor, await token('Watcher')));
    await watcher.request('subscribeLobby');
    await waitFor('the lobby to list Ada and Bob', () => lobbyNames().join() === 'Ada,Bob');

    const killedAt = Date.now();
    cluster.processes[1]!.child.kill('SIGKILL');
    await waitFor('Ada to notice the lost connection', () => !ada.connected, 5000);
    const noticedMs = Date.now() - killedAt;
    // As the web client does when its socket closes: reconnect (here, the load balancer sends it to the survivor).
    await ada.resume({ url: survivor, token: adaToken });
    const resumedMs = Date.now() - killedAt;
    const [adaBefore, bobBefore] = [await decoded(ada), await decoded(bob)];
    await waitFor(
      'media to keep flowing both ways',
      async () => (await decoded(ada)) > adaBefore + 10 && (await decoded(bob)) > bobBefore + 10,
      5000,
    );
    const mediaMs = Date.now() - killedAt;
    console.log(
      `signaling instance killed: Ada noticed after ${noticedMs} ms, resumed on the survivor after ${resumedMs} ms; media flowing both ways checked at ${mediaMs} ms`,
    );
    expect(mediaMs).toBeLessThan(5000);
    expect(bob.peers.has(ada.peerId)).toBe(true);
    expect(lobbyNames()).toEqual(['Ada', 'Bob']);

    // The dead instance's heartbeats stop; nothing it wrote may linger as a ghost or a duplicate.
    await new Promise((r) => setTimeout(r, PRESENCE_TTL_MS + 1000));
    expect(lobbyNames()).toEqual(['Ada', 'Bob']);
    const after = await decoded(bob);
    await waitFor('Bob to still decode Ada', async () => (await decoded(bob)) > after + 10, 5000);
  });
});
