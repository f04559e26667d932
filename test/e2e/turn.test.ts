import { createHmac } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundSummary, joinFromLobby, launchChromium, openParley, selectedPair } from '../../harness/browser.ts';
import { startDistributed, startEmbedded, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { startCoturn } from '../../harness/coturn.ts';
import type { Coturn } from '../../harness/coturn.ts';
import { waitFor } from '../../harness/wait.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { en } from '../../web/src/i18n/en.ts';

/**
 * A network that lets nothing through but a TURN server: Debian's coturn with the REST shared secret, signaling
 * handing out credentials for it, and two Chromium users forced to relay (`?ice=relay`, the web app's own
 * option). They see each other over TURN/UDP and over TURN/TCP; with a secret coturn does not share, nothing.
 */
const TURN_SECRET = 'turn-test-secret-0123456789';

describe('media through TURN (coturn, relay-only Chromium)', () => {
  let coturn: Coturn;
  let browser: Browser;
  const clusters: Cluster[] = [];

  beforeAll(async () => {
    [coturn, browser] = await Promise.all([startCoturn(TURN_SECRET), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(clusters.map((c) => c.stop()));
    await coturn?.stop();
  });

  /** `npm start` with TURN configured; each case its own, since TURN_URLS is read at start. */
  async function parley(turnUrl: string, secret = TURN_SECRET): Promise<string> {
    const cluster = await startEmbedded({ env: { TURN_URLS: turnUrl, TURN_SECRET: secret, TURN_TTL_S: '600' } });
    clusters.push(cluster);
    return cluster.signaling[0]!;
  }

  for (const transport of ['udp', 'tcp'] as const) {
    it(`two users see each other through TURN/${transport.toUpperCase()}; the selected pairs are relayed`, async () => {
      const base = await parley(coturn.url(transport));
      const room = `turn-${transport}-${Date.now()}`;
      const logBefore = coturn.output().length;
      const alice = await openParley(browser, `${base}/?ice=relay`);
      const bob = await openParley(browser, `${base}/?ice=relay`);
      await joinFromLobby(alice, room, 'Alice');
      await joinFromLobby(bob, room, 'Bob');

      const [atAlice, atBob] = await Promise.all([decodesVideo(alice), decodesVideo(bob)]);
      console.log(`TURN/${transport}: join → first remote frame: Alice ${atAlice.firstFrameMs} ms, Bob ${atBob.firstFrameMs} ms`);
      for (const page of [alice, bob]) {
        for (const direction of ['send', 'recv'] as const) {
          expect((await selectedPair(page, direction))?.local).toMatchObject({
            candidateType: 'relay',
            relayProtocol: transport,
          });
        }
      }
      // Four transports, each with its own allocation on this coturn, by the two users signaling named.
      const allocated = allocations(coturn.output().slice(logBefore));
      expect(allocated.length).toBeGreaterThanOrEqual(4);
      // (Each transport's credentials are minted with it, so a user's two may differ in expiry, not in identity.)
      expect(new Set(allocated.map(identityOf)).size).toBe(2);
      await Promise.all([alice.context().close(), bob.context().close()]);
    });
  }

  it('an ICE restart in a relay-only call allocates with fresh credentials, not the join’s, and media goes on', async () => {
    const base = await parley(coturn.url('udp'));
    const room = `turn-restart-${Date.now()}`;
    const alice = await openParley(browser, `${base}/?ice=relay`);
    const bob = await openParley(browser, `${base}/?ice=relay`);
    await joinFromLobby(alice, room, 'Alice');
    await joinFromLobby(bob, room, 'Bob');
    await Promise.all([decodesVideo(alice), decodesVideo(bob)]);
    await alice.waitForTimeout(1100); // a later second: a later expiry

    // What the client does on a network change that left signaling up: restart ICE on both transports.
    const logBefore = coturn.output().length;
    const framesBefore = (await inboundSummary(bob)).videoFramesDecoded;
    await alice.evaluate(async () => {
      const call = window.parley?.call;
      call?.onNetworkChange();
      await call?.restartStaleIce();
    });
    // Alice's two transports allocate again (one allocation each at least).
    const restarted = await waitFor('Alice’s restart to allocate on coturn', () => {
      const seen = allocations(coturn.output().slice(logBefore));
      return seen.length >= 2 && seen;
    });
    // Each with credentials newer than any its user had before (the join's, which would expire first).
    const before = allocations(coturn.output().slice(0, logBefore));
    for (const username of restarted) {
      const earlier = expiriesOf(before, identityOf(username));
      expect(earlier.length).toBeGreaterThan(0);
      expect(expiryOf(username)).toBeGreaterThan(Math.max(...earlier));
    }
    await waitFor('Bob to decode Alice’s video after the restart', async () => {
      return (await inboundSummary(bob)).videoFramesDecoded > framesBefore + 10;
    });
    for (const direction of ['send', 'recv'] as const) {
      expect((await selectedPair(alice, direction))?.local).toMatchObject({ candidateType: 'relay' });
    }
    await Promise.all([alice.context().close(), bob.context().close()]);
  });

  it('issues credentials to members only, per identity, expiring, without the secret; fresh ones on resume', async () => {
    const base = await parley(coturn.url('udp'));
    const room = `turn-ws-${Date.now()}`;
    // A token for another room: refused, nothing issued.
    const outsider = await TestClient.open(wsUrl(base, await token('Mallory', { room: 'elsewhere' })));
    const refused = await outsider.request('join', { room });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(JSON.stringify(refused)).not.toContain('iceServers');
    // Nor by asking for a transport or an ICE restart without a membership.
    for (const [method, data] of [
      ['createTransport', { direction: 'recv' }],
      ['restartIce', { transportId: 'a-transport-of-someone-else' }],
    ] as const) {
      const reply = await outsider.request(method, data);
      expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
      expect(JSON.stringify(reply)).not.toContain('iceServers');
    }
    outsider.close();
    const socket = await TestClient.open(wsUrl(base, await token('Carol')));
    const lobby = await socket.request('subscribeLobby');
    expect(JSON.stringify(lobby)).not.toContain('iceServers');
    const joined = await socket.request('join', { room });
    if (!joined.ok) throw new Error(JSON.stringify(joined.error));
    const { iceServers, resumeToken } = joined.data as { iceServers: IceServerSeen[]; resumeToken: string };
    const now = Math.floor(Date.now() / 1000);
    expect(iceServers).toHaveLength(1);
    const [server] = iceServers as [IceServerSeen];
    expect(server.urls).toEqual([coturn.url('udp')]);
    const [expiry, identity] = server.username.split(':');
    expect(identity).toBe('id-carol');
    expect(Number(expiry) - now).toBeGreaterThan(590);
    expect(Number(expiry) - now).toBeLessThanOrEqual(600);
    expect(server.credential).toBe(createHmac('sha1', TURN_SECRET).update(server.username).digest('base64'));
    expect(JSON.stringify(joined)).not.toContain(TURN_SECRET);
    socket.close();

    await new Promise((r) => setTimeout(r, 1100)); // a later second: a later expiry
    const again = await TestClient.open(wsUrl(base, await token('Carol')));
    const resumed = await again.request('resume', { resumeToken });
    if (!resumed.ok) throw new Error(JSON.stringify(resumed.error));
    const [fresh] = (resumed.data as { iceServers: IceServerSeen[] }).iceServers;
    expect(expiryOf(fresh!.username)).toBeGreaterThan(Number(expiry));
    // An ICE restart gathers relay candidates anew: it gets credentials as fresh as a resume's.
    const created = await again.request('createTransport', { direction: 'recv' });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    // So does a new transport (after a media reset, say): it allocates its own.
    const [transportServer] = (created.data as { iceServers: IceServerSeen[] }).iceServers;
    expect(transportServer?.username).toMatch(/^\d+:id-carol$/);
    expect(expiryOf(transportServer!.username)).toBeGreaterThanOrEqual(expiryOf(fresh!.username));
    await new Promise((r) => setTimeout(r, 1100));
    const restarted = await again.request('restartIce', { transportId: (created.data as { id: string }).id });
    if (!restarted.ok) throw new Error(JSON.stringify(restarted.error));
    const [restartServer] = (restarted.data as { iceServers: IceServerSeen[] }).iceServers;
    expect(restartServer?.username).toMatch(/^\d+:id-carol$/);
    expect(expiryOf(restartServer!.username)).toBeGreaterThan(expiryOf(fresh!.username));
    expect(restartServer?.credential).toBe(createHmac('sha1', TURN_SECRET).update(restartServer!.username).digest('base64'));
    // Another member restarting Carol's transport: NOT_FOUND, and nothing issued with it.
    const other = await TestClient.open(wsUrl(base, await token('Dan')));
    expect((await other.request('join', { room })).ok).toBe(true);
    const stolen = await other.request('restartIce', { transportId: (created.data as { id: string }).id });
    expect(stolen).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(JSON.stringify(stolen)).not.toContain('iceServers');
    other.close();
    again.close();
  });

  it('signaling on Deno issues the same credentials (WebCrypto HMAC-SHA1)', async () => {
    const cluster = await startDistributed({
      signaling: ['deno'],
      signalingEnv: { TURN_URLS: coturn.url('tcp'), TURN_SECRET, TURN_TTL_S: '120' },
    });
    clusters.push(cluster);
    const socket = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Dana')));
    const joined = await socket.request('join', { room: `turn-deno-${Date.now()}` });
    if (!joined.ok) throw new Error(JSON.stringify(joined.error));
    const [server] = (joined.data as { iceServers: IceServerSeen[] }).iceServers;
    expect(server?.urls).toEqual([coturn.url('tcp')]);
    expect(server?.username).toMatch(/^\d+:id-dana$/);
    expect(server?.credential).toBe(createHmac('sha1', TURN_SECRET).update(server!.username).digest('base64'));
    socket.close();
  });

  it('a secret coturn does not share: coturn answers 401, no relay candidate, no media; the doctor says no-relay-candidates', async () => {
    const base = await parley(coturn.url('udp'), 'not-the-turn-secret-0123456789');
    const room = `turn-wrong-${Date.now()}`;
    const logBefore = coturn.output().length;
    const alice = await openParley(browser, `${base}/?ice=relay`);
    const bob = await openParley(browser, `${base}/?ice=relay`);
    await joinFromLobby(alice, room, 'Dave');
    await joinFromLobby(bob, room, 'Erin');
    // coturn refuses both users' credentials… (by identity: a user's transports may carry different expiries)
    await waitFor('coturn to refuse both users', () => {
      const usernames = [...coturn.output().slice(logBefore).matchAll(REFUSED)].map((m) => m[1]!);
      return new Set(usernames.map(identityOf)).size === 2;
    });
    expect(allocations(coturn.output().slice(logBefore))).toEqual([]);
    // …so neither gathers a candidate, and for as long as media over TURN took above (~2-7 s here), none flows.
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      for (const page of [alice, bob]) {
        expect(await localCandidates(page)).toEqual([]);
        expect((await inboundSummary(page)).videoFramesDecoded).toBe(0);
      }
      await alice.waitForTimeout(500);
    }
    expect(allocations(coturn.output().slice(logBefore))).toEqual([]);
    // The black-screen doctor names it on the tile, from what the relay-only client reports.
    const notice = bob.locator('[data-testid="tile-notice"][data-cause="no-relay-candidates"]');
    await notice.first().waitFor({ timeout: 10_000 });
    expect(await notice.first().textContent()).toContain(en['cause.no-relay-candidates']);
    await Promise.all([alice.context().close(), bob.context().close()]);
  });
});

interface IceServerSeen {
  urls: string[];
  username: string;
  credential: string;
}

const REFUSED = /user <(\d+:[^>]+)>: incoming packet \w+ processed, error 401/g;

/** The TURN username of each successful allocation in coturn's log. */
function allocations(log: string): string[] {
  return [...log.matchAll(/user <(\d+:[^>]+)>: incoming packet ALLOCATE processed, success/g)].map((m) => m[1]!);
}

async function decodesVideo(page: Page) {
  return waitFor(
    'remote video decoded',
    async () => {
      const summary = await inboundSummary(page);
      return summary.videoFramesDecoded > 0 && summary.firstFrameMs !== undefined && summary;
    },
    30_000,
  );
}

/** A TURN REST username is `<expiry, unix seconds>:<identity>`. */
const expiryOf = (username: string): number => Number(username.split(':')[0]);
const identityOf = (username: string): string => username.split(':')[1] ?? '';

/** The expiry of each of an identity's usernames in `usernames`. */
function expiriesOf(usernames: string[], identity: string): number[] {
  return usernames.filter((u) => identityOf(u) === identity).map(expiryOf);
}

/** Every local ICE candidate either transport has gathered, by type. */
function localCandidates(page: Page) {
  return page.evaluate(async () => {
    const call = window.parley?.call;
    const reports = await Promise.all([call?.transportStats('send'), call?.transportStats('recv')]);
    return reports.flatMap((r) =>
      [...(r?.values() ?? [])].filter((row) => row.type === 'local-candidate').map((row) => row.candidateType),
    );
  });
}
