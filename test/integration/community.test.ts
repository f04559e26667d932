import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { startDistributed, TEST_SECRET, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { waitFor } from '../../harness/wait.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { FULL_GRANTS } from '../../protocol/auth.ts';
import { MAX_CHAT_CHARS } from '../../protocol/chat.ts';
import type { ChatMessage } from '../../protocol/chat.ts';
import { ADMIN_API_BASE, ADMIN_API_MAX_BODY_BYTES, adminEndpoints } from '../../protocol/http.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { issueToken } from '../../signaling/auth.ts';
import { ParleyServer } from '../../server-sdk/index.ts';

const API_KEY = 'test-api-key-0123456789-abcdefghijklmnop';
const MODERATOR = { ...FULL_GRANTS, moderator: true };

/**
 * Chat, moderation and the admin API over the distributed mode: two signaling instances (A on Node, B on Deno)
 * on one NATS, one media worker, bots on the client SDK and the server SDK against both instances. Each test uses
 * rooms of its own; the cluster is shared.
 */
describe('chat, moderation and the admin API across two signaling instances', () => {
  let cluster: Cluster;
  let a: string;
  let b: string;
  let apiA: ParleyServer;
  let apiB: ParleyServer;
  const bots: Bot[] = [];
  const clients: TestClient[] = [];

  const join = async (name: string, room: string, url: string, grants = FULL_GRANTS) => {
    const bot = await Bot.join({ url, room, name, token: await token(name, { grants }) });
    bots.push(bot);
    return bot;
  };
  const audioFrom = async (viewer: Bot) => (await viewer.stats()).audioPacketsReceived;
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => 'OK',
      (err: unknown) => (err instanceof ParleyError ? err.code : String(err)),
    );

  beforeAll(async () => {
    cluster = await startDistributed({
      // B is the Deno runtime: chat, moderation and the admin API are the same app on both.
      signaling: ['node', 'deno'],
      env: { PARLEY_API_KEYS: API_KEY, REMOVAL_BAN_S: '600', ROOM_EMPTY_TIMEOUT_S: '1', CHAT_RATE_BURST: '5' },
    });
    [a, b] = cluster.signaling as [string, string];
    apiA = new ParleyServer({ url: a, apiKey: API_KEY, secret: TEST_SECRET });
    apiB = new ParleyServer({ url: b, apiKey: API_KEY });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    bots.forEach((bot) => bot.close());
    await cluster?.stop();
  });

  it('chat reaches everyone across instances; a late joiner and a resumed member get the history', async () => {
    const room = 'chat-across';
    const ada = await join('Ada', room, a);
    const bob = await join('Bob', room, b);
    await ada.community.send('hello from A');
    await bob.community.send('<img src=x onerror=alert(1)> from B');
    await waitFor('both to have both messages', () => ada.community.messages.length === 2 && bob.community.messages.length === 2);
    expect(bob.community.messages.map((m) => [m.from?.displayName, m.text])).toEqual([
      ['Ada', 'hello from A'],
      ['Bob', '<img src=x onerror=alert(1)> from B'],
    ]);

    const cara = await join('Cara', room, a);
    await waitFor('Cara to get the history', () => cara.community.messages.length === 2);

    // Instance A to instance B, live: stored in the chat stream, then fanned out.
    await new Promise((r) => setTimeout(r, 2000)); // the chat bucket refills
    const sent: ChatMessage[] = [];
    for (let i = 0; i < 3; i++) sent.push(await ada.community.send(`timed ${i}`));
    await waitFor('Bob to get the timed ones', () => sent.every((m) => bob.community.arrivals.has(m.id)));
    const delays = sent.map((m) => bob.community.arrivals.get(m.id)! - m.sentAt);
    console.log(`[chat] send on A → arrival at B: ${delays.join(', ')} ms`);
    await waitFor('everyone to have all five', () => [ada, bob, cara].every((x) => x.community.messages.length === 5));

    bob.disconnect();
    await ada.community.send('said while Bob was away');
    await cara.community.send('and another');
    await bob.resume({ url: a, token: await token('Bob') });
    await waitFor('Bob to catch up after the resume', () => bob.community.messages.length === 7);
    const seqs = bob.community.messages.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(7);
  });

  it('chat limits: oversize and floods get typed errors; the connection, the call and the media keep working', async () => {
    const room = 'chat-limits';
    const ada = await join('Ada', room, a);
    const bob = await join('Bob', room, b);
    await ada.publish({ video: false });
    await waitFor('Bob to hear Ada', async () => (await audioFrom(bob)) > 20);

    expect(await errorOf(ada.community.send('x'.repeat(MAX_CHAT_CHARS + 1)))).toBe('PAYLOAD_TOO_LARGE');
    expect(await errorOf(ada.community.send('   '))).toBe('BAD_REQUEST');
    const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => errorOf(ada.community.send(`flood ${i}`))));
    expect(flood.filter((r) => r === 'OK').length).toBeLessThanOrEqual(6);
    expect(flood.filter((r) => r === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(14);
    const heard = await audioFrom(bob);
    await waitFor('Bob to keep hearing Ada', async () => (await audioFrom(bob)) > heard + 20);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await errorOf(ada.community.send('after the flood'))).toBe('OK');
    expect(ada.connected).toBe(true);
  });

  it('chat and moderator methods check their grants and the room of their target', async () => {
    const room = 'grants-check';
    const mute = await join('Quiet', room, a, { ...FULL_GRANTS, canChat: false });
    const plain = await join('Plain', room, b);
    const other = await join('Other', 'grants-elsewhere', a);
    const mod = await join('Mod', room, b, MODERATOR);
    expect(await errorOf(mute.community.send('hi'))).toBe('FORBIDDEN');
    expect(await errorOf(plain.community.moderator.mute(mute.peerId, 'microphone'))).toBe('FORBIDDEN');
    expect(await errorOf(plain.community.moderator.remove(mute.peerId, 'no'))).toBe('FORBIDDEN');
    expect(await errorOf(plain.community.moderator.endRoom())).toBe('FORBIDDEN');
    // Another room's peer, by its real id: not found from here.
    expect(await errorOf(mod.community.moderator.mute(other.peerId, 'microphone'))).toBe('NOT_FOUND');
    expect(await errorOf(mod.community.moderator.remove(other.peerId, 'no'))).toBe('NOT_FOUND');
    expect(await errorOf(mod.community.moderator.remove(mod.peerId, 'me'))).toBe('BAD_REQUEST');
    expect(other.community.removals).toEqual([]);

    // Not joined: every chat and moderator method is NOT_JOINED; malformed data is BAD_REQUEST.
    const raw = await TestClient.open(wsUrl(a, await token('Raw', { grants: MODERATOR })));
    clients.push(raw);
    for (const method of ['sendChat', 'chatHistory', 'muteParticipant', 'removeParticipant', 'endRoom']) {
      const r = await raw.request(method, { text: 'x', peerId: other.peerId, source: 'microphone', reason: 'r' });
      expect(r.ok ? 'OK' : r.error.code, method).toBe('NOT_JOINED');
    }
    expect(await raw.request('join', { room })).toMatchObject({ ok: true });
    const bad = await raw.request('muteParticipant', { peerId: plain.peerId, source: 'nose' });
    expect(bad.ok ? 'OK' : bad.error.code).toBe('BAD_REQUEST');
    const long = await raw.request('removeParticipant', { peerId: plain.peerId, reason: 'r'.repeat(201) });
    expect(long.ok ? 'OK' : long.error.code).toBe('BAD_REQUEST');
    // A request that leaves with the connection: the server finishes it and carries on.
    raw.ws.send(JSON.stringify({ id: 99, method: 'sendChat', data: { text: 'sent, then gone' } }));
    raw.close();
    await waitFor('the last words to arrive anyway', () => plain.community.messages.some((m) => m.text === 'sent, then gone'));
    expect(await errorOf(plain.community.send('still fine'))).toBe('OK');
  });

  it('a moderator mutes a microphone: the others stop receiving it and its owner cannot unmute until unlocked', async () => {
    const room = 'mod-mute';
    const ada = await join('Ada', room, a);
    const bob = await join('Bob', room, b);
    const mod = await join('Mod', room, a, MODERATOR);
    await ada.publish({ video: false });
    await waitFor('Bob to hear Ada', async () => (await audioFrom(bob)) > 20);

    await mod.community.moderator.mute(ada.peerId, 'microphone', true);
    const mic = ada.producerId('microphone')!;
    await waitFor('Bob to see the microphone paused', () => bob.pausedProducers.has(mic));
    await waitFor('Ada to know it is locked', () => ada.community.self?.locks.includes('microphone'));
    const before = await audioFrom(bob);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await audioFrom(bob)) - before).toBeLessThan(10);
    expect(await errorOf(ada.setPaused('microphone', false))).toBe('FORBIDDEN');
    // Around the SDK, straight to the server: refused there too; nor can she unlock herself.
    expect(await errorOf(ada.community.request('resumeProducer', { producerId: mic }))).toBe('FORBIDDEN');
    expect(await errorOf(ada.community.moderator.unlock(ada.peerId, 'microphone'))).toBe('FORBIDDEN');
    await waitFor('the room to see the notice', () =>
      bob.community.messages.some((m) => m.moderation?.action === 'mute' && m.moderation.target?.peerId === ada.peerId),
    );

    await mod.community.moderator.unlock(ada.peerId, 'microphone');
    await waitFor('Ada to be unlocked', () => ada.community.self?.locks.length === 0);
    await ada.setPaused('microphone', false);
    const unmuted = await audioFrom(bob);
    await waitFor('Bob to hear Ada again', async () => (await audioFrom(bob)) > unmuted + 20);
  });

  it('a moderator removes someone: they are told why and cannot rejoin with that token; the room is told', async () => {
    const room = 'mod-remove';
    const eve = await join('Eve', room, b);
    const mod = await join('Mod', room, a, MODERATOR);
    const bob = await join('Bob', room, a);
    await mod.community.moderator.remove(eve.peerId, 'spamming the chat');
    await waitFor('Eve to be told', () => eve.community.removals.length === 1);
    expect(eve.community.removals[0]).toMatchObject({ reason: 'spamming the chat', by: 'Mod', roomEnded: false });
    await waitFor('Bob to see Eve leave', () => !bob.peers.has(eve.peerId));
    await waitFor('the room to see the notice', () =>
      bob.community.messages.some((m) => m.moderation?.action === 'remove' && m.moderation.reason === 'spamming the chat'),
    );
    expect(await errorOf(eve.community.rejoin(room))).toBe('REMOVED');
    // Another token issued before the removal (say, another tab's) is refused too, on the other instance.
    const older = await issueToken(TEST_SECRET, { identity: 'id-eve', name: 'Eve' }, Math.floor(Date.now() / 1000) - 60);
    expect(await errorOf(Bot.join({ url: a, room, name: 'Eve', token: older }).then((x) => bots.push(x)))).toBe('REMOVED');
  });

  describe('admin API', () => {
    it('refuses missing, unknown and non-admin credentials on every endpoint, before reading the body', async () => {
      const forged = await issueToken('another-secret-0123456789', { identity: 'x', name: 'X', admin: true });
      // Expired beyond the 30 s clock skew signaling tolerates (TOKEN_CLOCK_SKEW_S).
      const expired = await issueToken(TEST_SECRET, { identity: 'x', name: 'X', admin: true, ttlSeconds: -60 });
      const user = await token('User');
      const cases: [string | undefined, number][] = [
        [undefined, 401],
        ['Bearer ', 401],
        [`Bearer ${API_KEY}x`, 401],
        [`Bearer ${API_KEY.slice(0, -1)}`, 401],
        [`Basic ${API_KEY}`, 401],
        [`Bearer ${forged}`, 401],
        [`Bearer ${expired}`, 401],
        [`Bearer ${user}`, 403],
      ];
      for (const endpoint of Object.values(adminEndpoints)) {
        const path = ADMIN_API_BASE + endpoint.path.replace(':roomId', 'lounge').replace(':peerId', 'p1');
        for (const [[auth, status], base] of cases.flatMap((c) => [a, b].map((url) => [c, url] as const))) {
          const res = await fetch(base + path, {
            method: endpoint.method,
            headers: auth ? { authorization: auth } : {},
            body: endpoint.method === 'GET' ? undefined : 'x'.repeat(ADMIN_API_MAX_BODY_BYTES * 4),
          });
          expect(res.status, `${base}: ${endpoint.method} ${path} with ${auth?.slice(0, 12)}`).toBe(status);
          expect((await res.json()).error.code).toBe(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
        }
      }
    });

    it('validates ids and bodies, and limits body size', async () => {
      const call = (method: string, path: string, body?: string, base = a) =>
        fetch(base + ADMIN_API_BASE + path, { method, headers: { authorization: `Bearer ${API_KEY}` }, body });
      expect((await call('POST', '/rooms', 'x'.repeat(ADMIN_API_MAX_BODY_BYTES + 1))).status).toBe(413);
      expect((await call('POST', '/rooms', 'x'.repeat(ADMIN_API_MAX_BODY_BYTES + 1), b)).status).toBe(413);
      expect((await call('POST', '/rooms', '{not json')).status).toBe(400);
      expect((await call('POST', '/rooms', JSON.stringify({ roomId: 'bad.room' }))).status).toBe(400);
      expect((await call('GET', '/rooms/bad.room/participants')).status).toBe(400);
      expect((await call('POST', '/rooms/lounge/participants/p1/mute', JSON.stringify({ source: 'nose' }))).status).toBe(400);
      expect(
        (await call('PATCH', '/rooms/lounge/participants/p1', JSON.stringify({ grants: { canPublish: 'yes' } }))).status,
      ).toBe(400);
      expect((await call('GET', '/nothing')).status).toBe(404);
      const admin = await issueToken(TEST_SECRET, { identity: 'ops', name: 'Ops', admin: true });
      const withToken = await fetch(`${b}${ADMIN_API_BASE}/rooms`, { headers: { authorization: `Bearer ${admin}` } });
      expect(withToken.status).toBe(200);
    });

    it('creates, lists and closes rooms; lists participants; sends system messages (A and B alike)', async () => {
      const room = `api-${Date.now()}`;
      const created = await apiA.createRoom(room);
      expect(created).toMatchObject({ created: true, room: { roomId: room, createdBy: 'api', participants: 0 } });
      expect((await apiB.createRoom(room)).created).toBe(false);
      await waitFor('B to list the room', async () => (await apiB.listRooms()).some((r) => r.roomId === room));

      const ada = await join('Ada', room, a);
      const bob = await join('Bob', room, b);
      await waitFor('two participants', async () => (await apiB.listParticipants(room)).length === 2);
      expect((await apiA.listParticipants(room)).map((p) => p.displayName).sort()).toEqual(['Ada', 'Bob']);
      expect((await apiA.listRooms()).find((r) => r.roomId === room)?.sid).toBe(created.room.sid);

      const sent = await apiB.sendMessage(room, 'maintenance at noon');
      expect(sent).toMatchObject({ kind: 'system', from: null, text: 'maintenance at noon' });
      await waitFor('both to see it', () =>
        [ada, bob].every((x) => x.community.messages.some((m) => m.text === 'maintenance at noon')),
      );
      await expect(apiA.sendMessage(room, 'y'.repeat(MAX_CHAT_CHARS + 1))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

      const closed = await apiA.closeRoom(room, 'the event is over');
      expect(closed).toMatchObject({ closed: true, participants: 2 });
      await waitFor('both to be told', () => [ada, bob].every((x) => x.community.removals.length === 1));
      expect(ada.community.removals[0]).toMatchObject({ reason: 'the event is over', roomEnded: true, by: null });
      await waitFor('the room to be gone', async () => !(await apiB.listRooms()).some((r) => r.roomId === room));
      await expect(apiB.closeRoom(room)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // A new run of the room starts with no history.
      const cara = await join('Cara', room, b);
      await new Promise((r) => setTimeout(r, 300));
      expect(cara.community.messages).toEqual([]);
    });

    it('mutes a track, unlocks it, updates grants live and removes a participant, from either instance', async () => {
      const room = `api-mod-${Date.now()}`;
      const ada = await join('Ada', room, a);
      const bob = await join('Bob', room, b);
      await ada.publish({ video: false });
      await waitFor('Bob to hear Ada', async () => (await audioFrom(bob)) > 20);

      await apiB.muteTrack(room, ada.peerId, 'microphone');
      const mic = ada.producerId('microphone')!;
      await waitFor('Bob to see it paused', () => bob.pausedProducers.has(mic));
      await waitFor('Ada locked', () => ada.community.self?.locks.includes('microphone'));
      expect(await errorOf(ada.setPaused('microphone', false))).toBe('FORBIDDEN');
      await waitFor('the lobby to show Ada muted', async () =>
        (await apiA.listParticipants(room)).some((p) => p.peerId === ada.peerId && p.media.muted),
      );
      await apiA.unlockTrack(room, ada.peerId, 'microphone');
      await waitFor('Ada unlocked', () => ada.community.self?.locks.length === 0);

      await apiA.updateGrants(room, ada.peerId, { ...FULL_GRANTS, canPublish: false });
      await waitFor('Ada’s microphone closed at Bob', () => !bob.remoteConsumers().some((c) => c.producerId === mic));
      await waitFor('Ada to know', () => ada.community.self?.grants.canPublish === false);
      await expect(ada.publish({ video: false })).rejects.toThrow();
      await apiB.updateGrants(room, ada.peerId, FULL_GRANTS);
      await waitFor('Ada may publish again', () => ada.community.self?.grants.canPublish === true);
      await ada.publish({ video: false });

      // Another room's peer, and unknown ones: not found.
      const other = await join('Other', `${room}-x`, a);
      await expect(apiA.muteTrack(room, other.peerId, 'microphone')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(apiA.removeParticipant(room, 'nobody', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(apiA.updateGrants(room, other.peerId, FULL_GRANTS)).rejects.toMatchObject({ code: 'NOT_FOUND' });

      await apiB.removeParticipant(room, bob.peerId, 'asked to leave');
      await waitFor('Bob to be told', () => bob.community.removals.length === 1);
      expect(bob.community.removals[0]).toMatchObject({ reason: 'asked to leave', by: null });
      await waitFor(
        'gone from the participants',
        async () => !(await apiA.listParticipants(room)).some((p) => p.peerId === bob.peerId),
      );
      expect(await errorOf(bob.community.rejoin(room))).toBe('REMOVED');
      // A token minted after the removal (the integrator decided to let them back in) is accepted.
      await new Promise((r) => setTimeout(r, 1100));
      const fresh = await apiA.mintToken({ identity: 'id-bob', name: 'Bob' });
      bots.push(await Bot.join({ url: a, room, name: 'Bob', token: fresh }));
    });
  });
});
