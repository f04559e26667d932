import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../bots/bot.ts';
import { startEmbedded, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { mediaPeers, metric, sleep } from '../../harness/probes.ts';
import { TestClient } from '../../harness/ws-client.ts';
import type { Lobby } from '../../protocol/presence.ts';

const GRACE_MS = 3000;
const ROOM_CAP = 40;
const DROPS = 40;

/**
 * Connections that drop at the worst moment, against `npm start` with the real mediasoup worker: while a
 * join is in flight (issue #14 found 29 ghosts in 220 such joins, holding seats forever), and again right
 * after a resume (a stale grace timer from the first drop ended the membership early).
 */
describe('memberships of connections that drop mid-request', () => {
  let cluster: Cluster;
  let base: string;

  beforeAll(async () => {
    cluster = await startEmbedded({
      env: { SESSION_GRACE_MS: String(GRACE_MS), ROOM_MAX_PARTICIPANTS: String(ROOM_CAP) },
    });
    base = cluster.signaling[0]!;
  });
  afterAll(() => cluster?.stop());

  const lobbyParticipants = async (room: string) => {
    const watcher = await TestClient.open(wsUrl(base, await token('Watcher')));
    const res = await watcher.request('subscribeLobby');
    watcher.close();
    const lobby = (res.ok ? res.data : { rooms: [] }) as Lobby;
    return lobby.rooms.find((r) => r.roomId === room)?.participants.length ?? 0;
  };

  it('leaves no membership, presence entry or media peer behind a join dropped at 0-8 ms, and the room still fills', async () => {
    const room = 'ghosts';
    // Each dropper its own identity: the per-identity connection cap is not what is tested here.
    const drops = Array.from({ length: DROPS }, async (_, i) => {
      const ws = new WebSocket(wsUrl(base, await token(`Ghost${i}`)));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ id: 1, method: 'join', data: { room } }));
      await sleep(i % 9);
      ws.terminate();
    });
    await Promise.all(drops);
    // Joins still in flight finish within a media round trip; a ghost would then sit there for good.
    await sleep(GRACE_MS + 1500);
    const left = {
      memberships: await metric(base, 'parley_signaling_memberships'),
      presence: await lobbyParticipants(room),
      mediaPeers: await mediaPeers(base, room),
    };
    console.log(`after ${DROPS} joins dropped at 0-8 ms and the grace period: ${JSON.stringify(left)}`);
    expect(left).toEqual({ memberships: 0, presence: 0, mediaPeers: 0 });

    const members = await Promise.all(
      Array.from({ length: ROOM_CAP }, async (_, i) => TestClient.open(wsUrl(base, await token(`Member${i}`)))),
    );
    const joins = await Promise.all(members.map((m) => m.request('join', { room })));
    const refused = joins.filter((j) => !j.ok).map((j) => (j.ok ? '' : j.error.code));
    console.log(
      `then ${ROOM_CAP} real joins into a room of ${ROOM_CAP}: ${ROOM_CAP - refused.length} joined, refused: ${refused}`,
    );
    expect(refused).toEqual([]);
    for (const m of members) m.close();
  });

  it('ends memberships whose resume was dropped at 0-8 ms once the grace period is over', async () => {
    const room = 'ghost-resumes';
    const resumes = Array.from({ length: 30 }, async (_, i) => {
      const jwt = await token(`Resumer${i}`);
      const first = await TestClient.open(wsUrl(base, jwt));
      const join = await first.request('join', { room });
      const { resumeToken } = (join.ok ? join.data : {}) as { resumeToken: string };
      first.ws.terminate();
      const again = await TestClient.open(wsUrl(base, jwt));
      again.ws.send(JSON.stringify({ id: 1, method: 'resume', data: { resumeToken } }));
      await sleep(i % 9);
      again.ws.terminate();
    });
    await Promise.all(resumes);
    await sleep(GRACE_MS + 1500);
    const left = {
      memberships: await metric(base, 'parley_signaling_memberships'),
      presence: await lobbyParticipants(room),
      mediaPeers: await mediaPeers(base, room),
    };
    console.log(`after 30 resumes dropped at 0-8 ms and the grace period: ${JSON.stringify(left)}`);
    expect(left).toEqual({ memberships: 0, presence: 0, mediaPeers: 0 });
  });

  it('gives a resumed-then-dropped membership its full grace period again', async () => {
    const ada = await token('Ada');
    const first = await TestClient.open(wsUrl(base, ada));
    const join = await first.request('join', { room: 'regrace' });
    const { resumeToken } = (join.ok ? join.data : {}) as { resumeToken: string };
    first.ws.terminate();
    // Resume late in the first grace period, then drop again at once.
    await sleep(GRACE_MS - 1000);
    const second = await TestClient.open(wsUrl(base, ada));
    expect((await second.request('resume', { resumeToken })).ok).toBe(true);
    second.ws.terminate();
    const droppedAt = Date.now();
    // Past the first drop's grace period, inside the second's.
    await sleep(2000);
    const third = await TestClient.open(wsUrl(base, ada));
    const resumed = await third.request('resume', { resumeToken });
    console.log(
      `resume ${Date.now() - droppedAt} ms after the second drop (grace ${GRACE_MS} ms): ${resumed.ok ? 'OK' : resumed.error.code}`,
    );
    expect(resumed.ok).toBe(true);
    // And a drop nobody resumes still ends after one grace period.
    third.ws.terminate();
    await sleep(GRACE_MS + 1000);
    const late = await TestClient.open(wsUrl(base, ada));
    expect(await late.request('resume', { resumeToken })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    late.close();
    await waitFor('the membership to be gone', async () => (await metric(base, 'parley_signaling_memberships')) === 0);
  });
});
