import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { timeRegions } from '../../client/regions.ts';
import { token, wsUrl } from '../../harness/cluster.ts';
import { adminToken, debugRooms } from '../../harness/probes.ts';
import { startRegions } from '../../harness/regions.ts';
import type { Regions } from '../../harness/regions.ts';
import { RegistryReader } from '../../harness/registry.ts';
import { waitFor } from '../../harness/wait.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { FULL_GRANTS } from '../../protocol/auth.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { buckets, membershipKey, regionalBucket } from '../../protocol/kv.ts';
import type { MediaWorkerLoad } from '../../protocol/media.ts';
import { Lobby } from '../../protocol/presence.ts';

/** One-way delay between the regions, as between two cloud regions a continent apart. */
const DELAY_MS = 40;
/** How long the partition test holds the link cut: longer than a registry entry or room part lives (REGISTRY_TTL_MS). */
const CUT_MS = 15_000;

/**
 * Two regions as docs/deploy.md deploys them: each its own NATS cluster, media-worker and signaling, the NATS
 * clusters joined by gateways, everything between them through a link that adds 40 ms each way. A room with
 * participants in both is cascaded: each region hosts its own participants' media, and each producer crosses
 * to the other region once, however many watch it there.
 */
describe('a room across two regions', () => {
  let regions: Regions;
  let registry: RegistryReader;
  const bots: Bot[] = [];
  const room = `global-${Date.now()}`;

  beforeAll(async () => {
    regions = await startRegions(['seoul', 'frankfurt'], { delayMs: DELAY_MS });
    registry = await RegistryReader.open(regions.byName.seoul!.nats.url, regions.natsUser);
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await registry?.close();
    await regions?.stop();
  });

  /** `subscribe: false`: the bot only watches the room's list (no consumers). */
  const join = async (region: string, name: string, inRoom = room, subscribe = true, grants = FULL_GRANTS) => {
    const url = regions.byName[region]!.signaling[0]!;
    const bot = await Bot.join({ url, room: inRoom, name, token: await token(name, { grants }), subscribe });
    bots.push(bot);
    return bot;
  };
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => 'OK',
      (err: unknown) => (err instanceof ParleyError ? err.code : String(err)),
    );
  /** Frames `viewer` decoded of `publisher`'s camera so far. */
  const frames = async (viewer: Bot, publisher: Bot) => {
    const consumer = viewer.remoteConsumers().find((c) => c.producerId === publisher.producerId('camera'));
    return consumer ? (await viewer.inboundVideo(consumer.id)).framesDecoded : 0;
  };
  const decodes = (bot: Bot, of: Bot) =>
    waitFor(`${bot.name} to decode ${of.name}’s video`, async () => (await frames(bot, of)) > 0, 10_000);
  /** The region of the media-worker holding each bot's transports in `roomId`, as /debug shows it. */
  const hostRegions = async (roomId: string, of: Bot[]) => {
    const parts = (await debugRooms(regions.byName.frankfurt!.signaling[0]!)).filter((r) => r.roomId === roomId);
    return of.map((bot) => parts.find((p) => p.peers.some((peer) => peer.id === bot.peerId))?.region);
  };
  /** `hostRegions` once /debug lists every bot: Frankfurt's copy of the parts bucket (in Seoul) is a round trip behind. */
  const listedHostRegions = (roomId: string, of: Bot[]) =>
    waitFor(`/debug to list ${roomId}’s parts`, async () => {
      const found = await hostRegions(roomId, of);
      return found.every(Boolean) && found;
    });
  /** The pipes that carry RTP over the link from one region to the other now (in the last second). */
  const crossing = (from: string, to: string) =>
    [...regions.link.flows(regions.byName[from]!.face.address, regions.byName[to]!.face.address, 1_000)].sort();

  const consumersIn = (loads: MediaWorkerLoad[], region: string) => loads.find((l) => l.region === region)?.consumers ?? 0;
  /**
   * The registry once `ready` holds and both regions have written their load again since: each region's entry
   * is its own heartbeat (every 2 s), so one can still be behind a pipe the other already counts.
   */
  const settledLoads = async (what: string, ready: (loads: MediaWorkerLoad[]) => boolean) => {
    await waitFor(what, async () => ready(await registry.loads()), 10_000);
    const since = Date.now();
    return waitFor('both regions to write their load again', async () => {
      const loads = await registry.loads();
      return loads.length === 2 && loads.every((l) => l.updatedAt > since) ? loads : undefined;
    });
  };
  const shapeOf = ({ region, consumers, pipesIn, pipesOut }: MediaWorkerLoad) => ({ region, consumers, pipesIn, pipesOut });
  /** Seoul: Ada publishes, Eve watches. Frankfurt: Bob publishes, Cara and Dan watch. */
  let ada: Bot, eve: Bot, bob: Bot, cara: Bot, dan: Bot;

  it('puts each participant’s media in its own region; both see each other; a producer crosses once', async () => {
    ada = await join('seoul', 'Ada');
    await ada.publish();
    eve = await join('seoul', 'Eve');
    await decodes(eve, ada);
    bob = await join('frankfurt', 'Bob');
    await decodes(bob, ada);
    console.log(
      `join → first frame of Ada's video (Seoul), ${DELAY_MS} ms each way between regions: ` +
        `Eve in Seoul ${eve.firstRemoteVideoMs} ms, Bob in Frankfurt ${bob.firstRemoteVideoMs} ms`,
    );
    await bob.publish();
    await decodes(ada, bob);
    expect((await ada.stats()).audioPacketsReceived).toBeGreaterThan(0);
    expect((await bob.stats()).audioPacketsReceived).toBeGreaterThan(0);

    // Where each one's transports are: the room part holding them, on a media-worker of which region (as /debug shows it).
    expect(await hostRegions(room, [ada, eve, bob])).toEqual(['seoul', 'seoul', 'frankfurt']);

    // Two more watch from Frankfurt: Ada's microphone and camera still cross the link once each.
    [cara, dan] = await Promise.all([join('frankfurt', 'Cara'), join('frankfurt', 'Dan')]);
    await Promise.all([decodes(cara, ada), decodes(dan, ada)]);
    expect(crossing('seoul', 'frankfurt')).toHaveLength(2);
    expect(crossing('frankfurt', 'seoul')).toHaveLength(2);
    // Every consumer made (Seoul 6, Frankfurt 10), so every pipe too.
    const pipes = await settledLoads(
      'every consumer',
      (loads) => consumersIn(loads, 'seoul') >= 6 && consumersIn(loads, 'frankfurt') >= 10,
    );
    const byRegion = Object.fromEntries(pipes.map((l) => [l.region, { in: l.pipesIn, out: l.pipesOut }]));
    console.log(
      `1 publisher and 1 viewer in Seoul, 1 publisher and 3 viewers in Frankfurt: pipes ${JSON.stringify(byRegion)}, ` +
        `pipes carrying RTP over the link ${JSON.stringify({ seoulToFrankfurt: crossing('seoul', 'frankfurt'), frankfurtToSeoul: crossing('frankfurt', 'seoul') })}`,
    );
    expect(byRegion).toEqual({ seoul: { in: 2, out: 2 }, frankfurt: { in: 2, out: 2 } });
  });

  /** How many participants a region's lobby (its signaling's copy of presence, as the admin API reads it) lists. */
  const inLobbyOf = async (region: string, roomId: string) => {
    const url = `${regions.byName[region]!.signaling[0]}/api/v1/rooms`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${await adminToken()}` } });
    const { rooms } = (await res.json()) as { rooms: { roomId: string; participants: number }[] };
    return rooms.find((r) => r.roomId === roomId)?.participants ?? 0;
  };

  /** Who a region's lobby lists in `roomId`, as a client sees it: peer id → shown unreachable. */
  const lobbyOf = async (region: string, roomId: string) => {
    const client = await TestClient.open(wsUrl(regions.byName[region]!.signaling[0]!, await token('Lobby')));
    try {
      const res = await client.request('subscribeLobby');
      const lobby = res.ok ? Lobby.parse(res.data) : { rooms: [] };
      const participants = lobby.rooms.find((r) => r.roomId === roomId)?.participants ?? [];
      return Object.fromEntries(participants.map((p) => [p.peerId, p.reachable === false]));
    } finally {
      client.close();
    }
  };

  it('measures what a join, a resume and a presence update cost in each region', async () => {
    /** When the room shows up in a region's lobby, polled from `since`. */
    const inLobby = async (region: string, roomId: string, since: number) => {
      while ((await inLobbyOf(region, roomId)) === 0) await new Promise((r) => setTimeout(r, 10));
      return performance.now() - since;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const costs: Record<string, Record<string, number>> = {};
    for (const region of ['seoul', 'frankfurt']) {
      const other = region === 'seoul' ? 'frankfurt' : 'seoul';
      const url = regions.byName[region]!.signaling[0]!;
      const runs = { join: [] as number[], resume: [] as number[], lobbyHere: [] as number[], lobbyThere: [] as number[] };
      for (let i = 0; i < 3; i++) {
        const [name, roomId] = [`${region}-${i}`, `cost-${region}-${i}-${Date.now()}`];
        const credential = await token(name);
        const start = performance.now();
        const seen = Promise.all([inLobby(region, roomId, start), inLobby(other, roomId, start)]);
        const bot = await Bot.join({ url, room: roomId, name, token: credential });
        runs.join.push(performance.now() - start);
        const [here, there] = await seen;
        runs.lobbyHere.push(here);
        runs.lobbyThere.push(there);
        bot.disconnect();
        const resumedFrom = performance.now();
        await bot.resume({ url, token: credential });
        runs.resume.push(performance.now() - resumedFrom);
        await bot.leave();
      }
      costs[region] = Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, Math.round(median(xs))]));
    }
    console.log(`median ms, ${DELAY_MS} ms each way between regions: ${JSON.stringify(costs)}`);
  });

  it('keeps each region’s presence and sessions in its own NATS cluster; a session begun in Seoul resumes in Frankfurt', async () => {
    const nc = await connect({ servers: regions.byName.seoul!.nats.url, ...regions.natsUser });
    try {
      const jsm = await jetstreamManager(nc);
      for (const region of ['seoul', 'frankfurt']) {
        for (const bucket of [buckets.presence, buckets.memberships]) {
          const info = await jsm.streams.info(`KV_${regionalBucket(bucket, region)}`);
          expect(info.cluster?.name, `${bucket} of ${region}`).toBe(region);
        }
      }
      const recordIn = async (region: string, key: string) => {
        // Bound as signaling reads it: direct gets (the role may not use the stream's message API).
        const records = await new Kvm(nc).open(regionalBucket(buckets.memberships, region), { allow_direct: true });
        return (await records.get(key))?.operation === 'PUT';
      };
      const [roomId, credential] = [`moved-${room}`, await token('Roa')];
      const roa = await join('seoul', 'Roa', roomId, false);
      const [peerId, key] = [roa.peerId, membershipKey(roa.resumeToken)];
      await waitFor('Roa’s session record in Seoul', () => recordIn('seoul', key));
      roa.disconnect();
      const resumedAt = performance.now();
      await roa.resume({ url: regions.byName.frankfurt!.signaling[0]!, token: credential });
      const resumeMs = Math.round(performance.now() - resumedAt);
      expect(roa.peerId).toBe(peerId);
      // Her record and presence entry move to Frankfurt's buckets, and she is listed once in each lobby.
      await waitFor(
        'Roa’s record to move to Frankfurt',
        async () => (await recordIn('frankfurt', key)) && !(await recordIn('seoul', key)),
      );
      for (const region of ['seoul', 'frankfurt']) {
        await waitFor(
          `${region}’s lobby to list Roa once`,
          async () => JSON.stringify(await lobbyOf(region, roomId)) === JSON.stringify({ [peerId]: false }),
        );
      }
      console.log(`a session begun in Seoul resumes in Frankfurt in ${resumeMs} ms`);
      await roa.leave();
    } finally {
      await nc.close();
    }
  });

  it('places a client’s media in the region it measured fastest, whichever region’s signaling it reached', async () => {
    // The test's clients sit near Seoul (harness/regions.ts); Gus reached Frankfurt's signaling all the same, as a
    // global endpoint's DNS may send him. He times both regions' endpoints and asks for the faster.
    const frankfurt = regions.byName.frankfurt!.signaling[0]!;
    const timings = await timeRegions(frankfurt);
    console.log(`Gus times the regions: ${timings.map((t) => `${t.region} ${t.rttMs.toFixed(1)} ms`).join(', ')}`);
    expect(timings.map((t) => t.region)).toEqual(['seoul', 'frankfurt']);
    expect(timings[1]!.rttMs).toBeGreaterThan(2 * DELAY_MS);
    const roomId = `fastest-${Date.now()}`;
    const joinVia = async (name: string, region?: string) => {
      // Watching nothing: the loads the cut test compares stay Ada's to Dan's.
      const bot = await Bot.join({ url: frankfurt, room: roomId, name, token: await token(name), region, subscribe: false });
      bots.push(bot);
      return bot;
    };
    const gus = await joinVia('Gus', timings[0]!.region);
    // Hal asks for nothing, Ivy for a region that has no media-worker: both stay with Frankfurt's.
    const [hal, ivy] = await Promise.all([joinVia('Hal'), joinVia('Ivy', 'mars')]);
    expect(await listedHostRegions(roomId, [gus, hal, ivy])).toEqual(['seoul', 'frankfurt', 'frankfurt']);
    // Not a region name: refused like any malformed request, and the connection goes on.
    const raw = await TestClient.open(wsUrl(frankfurt, await token('Raw')));
    expect(await raw.request('join', { room: roomId, region: 'x'.repeat(100) })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await raw.request('join', { room: roomId, region: 'a.b' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await raw.request('ping')).toMatchObject({ ok: true });
    raw.ws.terminate();
    // The probe answers any page, without a token.
    const probe = await fetch(`${frankfurt}/api/region`, { headers: { origin: 'https://elsewhere.example' } });
    expect([probe.status, probe.headers.get('access-control-allow-origin'), await probe.json()]).toEqual([
      200,
      '*',
      { region: 'frankfurt' },
    ]);
  });

  it('keeps each region’s own media through a cut link, keeps everyone in the room, re-merges on its own, leaks nothing', async () => {
    /** Frames each viewer decoded of each publisher over `ms`. */
    const progress = async (pairs: [Bot, Bot][], ms: number) => {
      const start = await Promise.all(pairs.map(([v, p]) => frames(v, p)));
      await new Promise((r) => setTimeout(r, ms));
      const end = await Promise.all(pairs.map(([v, p]) => frames(v, p)));
      return end.map((n, i) => n - start[i]!);
    };
    // Removed before the cut from a room across both regions, Ned is refused when he rejoins in Frankfurt during it,
    // from Frankfurt's copy of the moderation bucket (in Seoul). The settling below gives the copy the removal.
    const modRoom = `moderated-${room}`;
    const mod = await join('seoul', 'Mod', modRoom, false, { ...FULL_GRANTS, moderator: true });
    const nedJoins = async (credential: string) => {
      const url = regions.byName.frankfurt!.signaling[0]!;
      const bot = await Bot.join({ url, room: modRoom, name: 'Ned', token: credential, subscribe: false });
      bots.push(bot);
      return bot;
    };
    // Issued before the removal, which refuses it (a token issued after it is the application's decision).
    const nedsToken = await token('Ned');
    const ned = await nedJoins(nedsToken);
    // Found by the lobby (presence), which Seoul hears of Ned through the link.
    await waitFor('Seoul’s lobby to list Ned', async () => (await inLobbyOf('seoul', modRoom)) === 2);
    await mod.community.moderator.remove(ned.peerId, 'spamming');
    await waitFor('Ned to be told he was removed', () => ned.community.removals.length === 1);
    await mod.leave();
    // Settled first: the test before this one made consumers and pipes the registry may not show yet.
    const loadsBefore = (await settledLoads('the loads before the cut', () => true)).map(shapeOf);
    const crossedBefore = crossing('seoul', 'frankfurt').length;

    const everyone = [ada, eve, bob, cara, dan];
    const unreachable = (bot: Bot) => [...bot.unreachable].sort();
    const seoul = [ada.peerId, eve.peerId].sort();
    const frankfurt = [bob.peerId, cara.peerId, dan.peerId].sort();
    const shownCut = () =>
      JSON.stringify(everyone.map(unreachable)) === JSON.stringify([frankfurt, frankfurt, seoul, seoul, seoul]);

    regions.link.cut();
    const cutAt = Date.now();
    await waitFor('each region to show the other’s participants as unreachable', shownCut, 10_000);
    const shownAfter = Date.now() - cutAt;
    const local: [Bot, Bot][] = [
      [eve, ada],
      [cara, bob],
      [dan, bob],
    ];
    const across: [Bot, Bot][] = [
      [bob, ada],
      [ada, bob],
    ];
    await waitFor(
      'the cut to stop the media crossing it',
      async () => (await progress(across, 1_000)).every((n) => n === 0),
      10_000,
    );
    await new Promise((r) => setTimeout(r, CUT_MS - (Date.now() - cutAt)));
    const [during, stopped] = await Promise.all([progress(local, 3_000), progress(across, 3_000)]);
    console.log(
      `shown unreachable ${shownAfter} ms after the cut; ${CUT_MS / 1000} s into it, frames decoded in 3 s: ` +
        `within a region ${during}, across ${stopped}`,
    );
    expect(during.every((n) => n > 10)).toBe(true);
    expect(stopped).toEqual([0, 0]);
    // Nobody left: the other region's participants are still in the room on both sides, shown as unreachable.
    expect([...ada.peers.keys()]).toContain(bob.peerId);
    expect([...bob.peers.keys()]).toContain(ada.peerId);
    expect(shownCut()).toBe(true);

    // The lobbies list everyone, the other region's participants as unreachable: each keeps the entries of its copy
    // of the other region's presence bucket, which it cannot reach, so no refresh arrives and nobody is aged out.
    const cutShown = Object.fromEntries([...seoul.map((id) => [id, false]), ...frankfurt.map((id) => [id, true])]);
    expect(await lobbyOf('seoul', room)).toEqual(cutShown);
    expect(await lobbyOf('frankfurt', room)).toEqual(
      Object.fromEntries(Object.entries(cutShown).map(([id, unreachable]) => [id, !unreachable])),
    );
    // What needs the buckets in Seoul is refused in Frankfurt with a typed error, and what the copies answer is kept.
    const askedAt = Date.now();
    expect(await errorOf(cara.community.send('anyone there?'))).toBe('STORE_UNAVAILABLE');
    const chatRefusedMs = Date.now() - askedAt;
    expect(await errorOf(nedJoins(nedsToken))).toBe('REMOVED');
    console.log(`during the cut, in Frankfurt: chat refused (STORE_UNAVAILABLE) in ${chatRefusedMs} ms; removed Ned refused`);
    // Published and said during the cut (Seoul holds the chat stream): the news cannot cross it, so it must once the
    // link is back.
    await eve.publish();
    const saidInCut = await eve.community.send('said during the cut');
    // Joined during the cut, in Seoul (which holds the global KV buckets): Fay is shown Frankfurt's participants as in the
    // room, unreachable. She only watches the room's list, so the loads compared below stay Ada's to Dan's.
    const fay = await join('seoul', 'Fay', room, false);
    expect([...fay.peers.keys()].sort()).toEqual([...seoul, ...frankfurt].sort());
    expect(unreachable(fay)).toEqual(frankfurt);
    // Joined during the cut in Frankfurt, which does not hold the global KV buckets: moderation is read from the local
    // copy and the room's home there from the placement copy, so Ivy is in the room (Seoul's participants
    // unreachable), publishes, and Cara decodes her. Her session and presence are in Frankfurt's own buckets, so
    // Frankfurt's lobby lists her. She leaves before the link returns: the loads compared below do not change.
    const joinedAt = Date.now();
    const ivy = await join('frankfurt', 'Ivy', room, false);
    const ivyJoinMs = Date.now() - joinedAt;
    expect(unreachable(ivy)).toEqual(seoul);
    expect([...ivy.peers.keys()].sort()).toEqual([...seoul, ...frankfurt].sort());
    await ivy.publish();
    await decodes(cara, ivy);
    await waitFor('Frankfurt’s lobby to list Ivy', async () => (await lobbyOf('frankfurt', room))[ivy.peerId] === false, 2_000);
    console.log(
      `Ivy joins in Frankfurt during the cut in ${ivyJoinMs} ms; Cara decodes her ${Date.now() - joinedAt} ms after she began`,
    );
    // Her media leaves without waiting for the records her leave deletes (a region cut off from a bucket waits for it).
    const ivyPeerId = ivy.peerId;
    const leftAt = Date.now();
    const [seenMs, answeredMs] = await Promise.all([
      waitFor('Cara to see Ivy leave', () => !cara.peers.has(ivyPeerId), 2_000).then(() => Date.now() - leftAt),
      ivy.leave().then(() => Date.now() - leftAt),
    ]);
    console.log(`Ivy leaves during the cut: Cara sees it in ${seenMs} ms, Ivy's leave is answered in ${answeredMs} ms`);
    // A room that starts in Frankfurt during the cut: placed on Frankfurt's media-worker (Seoul's cannot be reached)
    // without a placement or room record (their buckets are out of reach), Jo and Kim see each other there. They
    // leave before the link returns.
    const newRoom = `cut-${room}`;
    const newRoomAt = Date.now();
    const [jo, kim] = [await join('frankfurt', 'Jo', newRoom), await join('frankfurt', 'Kim', newRoom)];
    await kim.publish();
    await decodes(jo, kim);
    console.log(`a room new to Frankfurt starts during the cut: Jo decodes Kim ${Date.now() - newRoomAt} ms after Jo began`);
    await Promise.all([jo.leave(), kim.leave()]);

    regions.link.restore();
    const restoredAt = Date.now();
    // Fay joined in Seoul during the cut: Frankfurt's lobby (its copy of Seoul's presence) never heard of her, and lists
    // her once its copy catches up.
    const lobbyBack = waitFor(
      'Frankfurt’s lobby to list Fay',
      async () => (await inLobbyOf('frankfurt', room)) === 6,
      10_000,
    ).then(() => Date.now() - restoredAt);
    await waitFor('media to cross again', async () => (await progress(across, 500)).every((n) => n > 0), 15_000);
    const mediaBack = Date.now() - restoredAt;
    // A room that starts in Seoul right after the link returns, while Frankfurt's copies of the room parts may
    // still be behind: Hal in Frankfurt decodes Gil.
    const [gil, hal] = [await join('seoul', 'Gil', `after-cut-${room}`), await join('frankfurt', 'Hal', `after-cut-${room}`)];
    await gil.publish();
    await decodes(hal, gil);
    console.log(
      `Hal (Frankfurt) decodes Gil, in a room that started in Seoul as the link returned, ${Date.now() - restoredAt} ms after it`,
    );
    await decodes(bob, eve);
    console.log(`Bob (Frankfurt) decodes Eve, who began to publish during the cut, ${Date.now() - restoredAt} ms after it`);
    // Cascaded: Hal’s media is in Frankfurt, though Frankfurt’s media-worker may not have written its heartbeat to the
    // registry (in Seoul) again when he joined: signaling pings it (Placement.answering). /debug lists the room
    // once its copy of the room parts has caught up.
    expect(await listedHostRegions(`after-cut-${room}`, [gil, hal])).toEqual(['seoul', 'frankfurt']);
    everyone.push(fay);
    await waitFor('everyone to be reachable again', () => everyone.every((b) => b.unreachable.size === 0), 5_000);
    const reachableMs = Date.now() - restoredAt;
    // Cara stayed connected in Frankfurt throughout: her client reads the history again as the link returns, until
    // JetStream, which makes a consumer for the read, has its meta leader back.
    await waitFor(
      'Cara to have what Eve said during the cut',
      () => cara.community.messages.some((m) => m.id === saidInCut.id),
      30_000,
    );
    console.log(
      `Cara (Frankfurt) has what Eve said in Seoul during the cut ${Date.now() - restoredAt} ms after the link returned`,
    );
    for (const region of ['seoul', 'frankfurt']) {
      await waitFor(`${region}’s lobby to show everyone reachable`, async () => {
        const shown = await lobbyOf(region, room);
        return Object.keys(shown).length === everyone.length && Object.values(shown).every((unreachable) => !unreachable);
      });
    }
    // Re-merged, not rebuilt: nobody was ever told that someone behind the cut had left.
    expect(everyone.flatMap((b) => b.departures).filter((peerId) => peerId !== ivyPeerId)).toEqual([]);
    const unseen = everyone.flatMap((b) =>
      everyone.filter((o) => o !== b && !b.peers.has(o.peerId)).map((o) => `${b.name} sees no ${o.name}`),
    );
    expect(unseen).toEqual([]);
    console.log(
      `link back after ${((restoredAt - cutAt) / 1000).toFixed(1)} s: media across again in ${mediaBack} ms, ` +
        `Frankfurt's lobby lists Fay in ${await lobbyBack} ms, everyone shown reachable in ${reachableMs} ms`,
    );

    // Nothing left over from the cut: the pipes and consumers from before it, plus Eve's (each of her producers
    // crossed once; Ada in Seoul and the three in Frankfurt consume them) and Gil's (Hal consumes them).
    // A pipe counts once RTP crossed it in the last second: Gil's microphone may be consumed after Hal decoded his video.
    await waitFor('Eve’s and Gil’s producers to cross', () => crossing('seoul', 'frankfurt').length >= crossedBefore + 4, 5_000);
    expect(crossing('seoul', 'frankfurt')).toHaveLength(crossedBefore + 4);
    const was = (region: string) => loadsBefore.find((l) => l.region === region)!;
    const expected = [
      { ...was('frankfurt'), consumers: was('frankfurt').consumers + 8, pipesIn: was('frankfurt').pipesIn + 4 },
      { ...was('seoul'), consumers: was('seoul').consumers + 2, pipesOut: was('seoul').pipesOut + 4 },
    ];
    const after = await settledLoads('Eve’s consumers', (loads) =>
      expected.every((e) => consumersIn(loads, e.region) >= e.consumers),
    );
    expect(after.map(shapeOf).sort((a, b) => a.region.localeCompare(b.region))).toEqual(expected);
  }, 90_000);

  it('needed nothing the NATS roles do not allow (the permissions generated for these regions)', () => {
    const violations = Object.values(regions.byName).flatMap((r) => r.nats.output().match(/Permissions Violation.*/g) ?? []);
    expect(violations).toEqual([]);
  });
});
