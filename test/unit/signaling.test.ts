import { describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../bus/memory.ts';
import { Leases } from '../../media-worker/cluster/leases.ts';
import { FULL_GRANTS } from '../../protocol/auth.ts';
import { buckets } from '../../protocol/kv.ts';
import { PRESENCE_STALE_MS, PRESENCE_TTL_MS, PRESENCE_UNREACHABLE_MAX_MS } from '../../protocol/presence.ts';
import { DEFAULT_REGION } from '../../protocol/regions.ts';
import type { PresenceEntry } from '../../protocol/presence.ts';
import { assertPublish, assertRoom, issueToken, verifyToken } from '../../signaling/auth.ts';
import { RateLimiter } from '../../signaling/limits.ts';
import { Lobby } from '../../signaling/lobby.ts';
import { RegionalKv } from '../../signaling/regional-kv.ts';

const SECRET = 'unit-test-secret-0123456789';

describe('access tokens', () => {
  it('round-trips claims and refuses forged, expired and garbage tokens with a reason', async () => {
    const token = await issueToken(SECRET, { identity: 'ada', name: 'Ada', room: 'lounge' });
    expect(await verifyToken(SECRET, token)).toMatchObject({ sub: 'ada', name: 'Ada', room: 'lounge', grants: FULL_GRANTS });
    await expect(verifyToken('another-secret-0123456789', token)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'access token invalid',
    });
    const expired = await issueToken(SECRET, { identity: 'ada', name: 'Ada', ttlSeconds: -31 });
    await expect(verifyToken(SECRET, expired)).rejects.toMatchObject({ message: 'access token expired' });
    await expect(verifyToken(SECRET, 'a.b.c')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(verifyToken(SECRET, undefined)).rejects.toMatchObject({ message: 'an access token is required' });
  });

  it('limits rooms and sources to what the token grants', async () => {
    const claims = await verifyToken(SECRET, await issueToken(SECRET, { identity: 'a', name: 'A', room: 'lounge' }));
    expect(() => assertRoom(claims, 'lounge')).not.toThrow();
    expect(() => assertRoom(claims, 'kitchen')).toThrow(/not kitchen/);
    const micOnly = { canPublish: true, canSubscribe: true, sources: ['microphone' as const] };
    expect(() => assertPublish(micOnly, 'microphone', 'audio')).not.toThrow();
    expect(() => assertPublish(micOnly, 'screen', 'video')).toThrow(/may not publish screen/);
    // The grant is per source, so the kind must be the source's: no video labelled "microphone".
    expect(() => assertPublish(micOnly, 'microphone', 'video')).toThrow(/microphone is audio, not video/);
  });

  it('accepts a little clock skew, refuses tokens from the future and tokens that live too long', async () => {
    const now = 1_700_000_000;
    const policy = { tokenMaxLifetimeS: 3600, clockSkewS: 30 };
    const at = (iat: number, ttl = 600) => issueToken(SECRET, { identity: 'a', name: 'A', ttlSeconds: ttl }, iat);
    await expect(verifyToken(SECRET, await at(now + 20), policy, now)).resolves.toMatchObject({ sub: 'a' });
    await expect(verifyToken(SECRET, await at(now + 40), policy, now)).rejects.toMatchObject({
      message: 'access token not valid yet (check the clocks)',
    });
    await expect(verifyToken(SECRET, await at(now - 620), policy, now)).resolves.toMatchObject({ sub: 'a' });
    await expect(verifyToken(SECRET, await at(now - 640), policy, now)).rejects.toMatchObject({
      message: 'access token expired',
    });
    await expect(verifyToken(SECRET, await at(now, 3601), policy, now)).rejects.toMatchObject({
      message: 'access token lives longer than the 3600 s allowed',
    });
  });
});

describe('rate limiter', () => {
  it('allows a burst, then the refill rate', () => {
    const limiter = new RateLimiter(10, 5, 0);
    expect(Array.from({ length: 7 }, () => limiter.tryTake(0))).toEqual([true, true, true, true, true, false, false]);
    expect(limiter.tryTake(100)).toBe(true); // one token back after 100 ms at 10/s
    expect(limiter.tryTake(100)).toBe(false);
  });
});

describe('media leases', () => {
  it('expires peers that nobody renews', () => {
    const leases = new Leases(1000);
    leases.touch({ roomId: 'r', peerId: 'a' }, 0);
    leases.touch({ roomId: 'r', peerId: 'b' }, 0);
    leases.touch({ roomId: 'r', peerId: 'a' }, 900);
    expect(leases.takeExpired(1500)).toEqual([{ roomId: 'r', peerId: 'b' }]);
    expect(leases.has({ roomId: 'r', peerId: 'b' })).toBe(false);
    expect(leases.takeExpired(1500)).toEqual([]);
  });
});

describe('lobby', () => {
  /** A region's presence buckets on `bus` (regions share a bus as they share a supercluster), knowing `others`. */
  const presenceIn = (bus: MemoryBus, region = DEFAULT_REGION, others: string[] = []) =>
    RegionalKv.open(bus, buckets.presence, PRESENCE_TTL_MS, region, () => others);
  const entry = (peerId: string, updatedAt = Date.now()): PresenceEntry => ({
    roomId: 'lounge',
    peerId,
    identity: peerId,
    displayName: peerId.toUpperCase(),
    instanceId: 'sig-1',
    connected: true,
    media: { microphone: true, muted: false, camera: false, screen: false, speaking: false },
    updatedAt,
  });

  it('groups participants by room, pushes changes and ages out entries nobody refreshes', async () => {
    const lobby = await Lobby.open(await presenceIn(new MemoryBus()));
    const seen: string[][] = [];
    lobby.subscribe((view) => seen.push(view.rooms.flatMap((r) => r.participants.map((p) => p.peerId))));
    await lobby.put(entry('ada'));
    await lobby.put(entry('bob', Date.now() - PRESENCE_STALE_MS + 500));
    await new Promise((r) => setTimeout(r, 200));
    expect(lobby.view().rooms).toEqual([
      {
        roomId: 'lounge',
        participants: [expect.objectContaining({ peerId: 'ada' }), expect.objectContaining({ peerId: 'bob' })],
      },
    ]);
    expect(seen.at(-1)).toEqual(['ada', 'bob']);
    await new Promise((r) => setTimeout(r, 1700));
    expect(seen.at(-1)).toEqual(['ada']);
    await lobby.remove('lounge', 'ada');
    await new Promise((r) => setTimeout(r, 200));
    expect(lobby.view().rooms).toEqual([]);
    lobby.close();
  });

  it('shows the participants of a region it cannot reach as unreachable, not gone, for PRESENCE_UNREACHABLE_MAX_MS', async () => {
    vi.useFakeTimers();
    // Frankfurt's media-workers were last heard from at the cut; Seoul's go on.
    let frankfurtCut = Number.POSITIVE_INFINITY;
    const lobby = await Lobby.open(
      await presenceIn(new MemoryBus()),
      (region, since) => region === 'seoul' || since < frankfurtCut,
    );
    const pushed: (boolean | undefined)[][] = [];
    lobby.subscribe((view) => pushed.push(view.rooms.flatMap((r) => r.participants.map((p) => p.reachable))));
    await lobby.put({ ...entry('ada'), region: 'seoul' });
    await lobby.put({ ...entry('bob'), region: 'frankfurt' });
    await lobby.put({ ...entry('cy'), region: 'seoul' });
    // Dee's instance died a while before the cut, while Frankfurt was still heard from: she is gone.
    await lobby.put({ ...entry('dee', Date.now() - PRESENCE_STALE_MS - 1_000), region: 'frankfurt' });
    frankfurtCut = Date.now();
    // Ada's instance goes on writing; Cy's died; Bob's cannot reach the bucket.
    const beat = setInterval(() => void lobby.put({ ...entry('ada'), region: 'seoul' }), 5_000);
    await vi.advanceTimersByTimeAsync(PRESENCE_STALE_MS + 1_500);
    const shown = () => lobby.view().rooms.flatMap((r) => r.participants.map((p) => [p.peerId, p.reachable]));
    expect(shown()).toEqual([
      ['ada', undefined],
      ['bob', false],
    ]);
    expect(pushed.at(-1)).toEqual([undefined, false]);
    await vi.advanceTimersByTimeAsync(PRESENCE_UNREACHABLE_MAX_MS - PRESENCE_STALE_MS);
    expect(shown()).toEqual([['ada', undefined]]);
    clearInterval(beat);
    lobby.close();
    vi.useRealTimers();
  });

  it('writes its own region’s bucket and shows every known region’s: a session that moved regions once, newest', async () => {
    const bus = new MemoryBus();
    const known = ['seoul', 'frankfurt'];
    const [seoul, frankfurt] = await Promise.all(known.map(async (r) => Lobby.open(await presenceIn(bus, r, known))));
    await seoul!.put({ ...entry('ada'), region: 'seoul' });
    await frankfurt!.put({ ...entry('bob'), region: 'frankfurt' });
    // Cy resumed in Frankfurt: Seoul's entry is older, and not yet deleted.
    await seoul!.put({ ...entry('cy', Date.now() - 1_000), region: 'seoul', displayName: 'old' });
    await frankfurt!.put({ ...entry('cy'), region: 'frankfurt' });
    // The copies are kept by watches, which deliver asynchronously.
    await new Promise((r) => setTimeout(r, 50));
    const shown = (lobby: Lobby) => lobby.view().rooms.flatMap((r) => r.participants.map((p) => `${p.peerId} ${p.displayName}`));
    for (const lobby of [seoul!, frankfurt!])
      expect(shown(lobby).sort()).toEqual(['ADA', 'BOB', 'CY'].map((n) => `${n.toLowerCase()} ${n}`));
    // Each wrote its own region's bucket only.
    expect([...(await (await bus.kv('parley-presence-seoul')).entries()).map(([k]) => k)].sort()).toEqual([
      'lounge.ada',
      'lounge.cy',
    ]);
    expect([...(await (await bus.kv('parley-presence-frankfurt')).entries()).map(([k]) => k)].sort()).toEqual([
      'lounge.bob',
      'lounge.cy',
    ]);
    expect(await seoul!.entry('lounge', 'bob')).toMatchObject({ region: 'frankfurt' });
    await seoul!.remove('lounge', 'cy');
    expect(await (await bus.kv('parley-presence-seoul')).get('lounge.cy')).toBeNull();
    seoul!.close();
    frankfurt!.close();
  });

  it('ages out nobody while the bucket is out of reach (no refresh could arrive), and does once it answers', async () => {
    vi.useFakeTimers();
    const presence = await presenceIn(new MemoryBus());
    const kv = presence.own;
    const lobby = await Lobby.open(presence);
    await lobby.put(entry('ada'));
    const lastRevision = kv.lastRevision;
    kv.lastRevision = () => Promise.reject(new Error('timeout'));
    await vi.advanceTimersByTimeAsync(PRESENCE_STALE_MS + 2_000);
    expect(lobby.occupiedRooms()).toEqual(new Set(['lounge']));
    kv.lastRevision = lastRevision;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(lobby.occupiedRooms()).toEqual(new Set());
    lobby.close();
    vi.useRealTimers();
  });
});
