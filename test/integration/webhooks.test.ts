import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { startDistributed, TEST_SECRET, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { waitFor } from '../../harness/wait.ts';
import { WebhookReceiver } from '../../harness/webhook-receiver.ts';
import type { WebhookEventType } from '../../protocol/webhooks.ts';
import { ParleyServer } from '../../server-sdk/index.ts';

const SECRET = 'webhook-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const API_KEY = 'test-api-key-0123456789-abcdefghijklmnop';
const OUTAGE_MS = 30_000;

/**
 * Webhooks against a real HTTP receiver over two signaling instances: every event once, signed; everything
 * recorded during a 30 s receiver outage delivered once it is back; a signaling instance killed while it
 * delivers loses nothing (the other instance sends it after the ack wait). Short retry timers via env.
 */
describe('webhooks: at least once, signed, to a real HTTP receiver', () => {
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  let api: ParleyServer;
  const bots: Bot[] = [];

  const metric = async (url: string, path: string, result: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.includes(`endpoint="${receiver.url}${path}"`) && l.includes(`result="${result}"`));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  const total = async (path: string, result: string) =>
    (await Promise.all(cluster.signaling.map((url) => metric(url, path, result).catch(() => 0)))).reduce((a, b) => a + b, 0);
  const types = (room: string) =>
    receiver.received.filter((r) => r.event.room.roomId === room).map((r) => r.event.event as WebhookEventType);

  /** A room's whole life: two people, a microphone, a chat message, both leave, the room finishes. */
  async function roomLife(room: string): Promise<void> {
    const [a, b] = cluster.signaling as [string, string];
    const ada = await Bot.join({ url: a, room, name: 'Ada', token: await token('Ada') });
    const bob = await Bot.join({ url: b, room, name: 'Bob', token: await token('Bob') });
    bots.push(ada, bob);
    await ada.publish({ video: false });
    await bob.community.send(`hello ${room}`);
    await ada.unpublish('microphone');
    await bob.leave();
    await ada.leave();
  }
  const LIFE: WebhookEventType[] = [
    'room_started',
    'participant_joined',
    'participant_joined',
    'track_published',
    'chat_message',
    'track_unpublished',
    'participant_left',
    'participant_left',
    'room_finished',
  ];
  const allArrived = (room: string) => () => types(room).length >= LIFE.length && types(room).includes('room_finished');

  beforeAll(async () => {
    receiver = await WebhookReceiver.start(SECRET);
    cluster = await startDistributed({
      signaling: ['node', 'node'],
      env: {
        WEBHOOK_URLS: `${receiver.url}/hooks,${receiver.url}/reject`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_BACKOFF_MS: '200,500,1000,2000',
        WEBHOOK_MAX_ATTEMPTS: '60',
        WEBHOOK_ACK_WAIT_MS: '3000',
        WEBHOOK_TIMEOUT_MS: '2000',
        ROOM_EMPTY_TIMEOUT_S: '1',
        PARLEY_API_KEYS: API_KEY,
      },
    });
    api = new ParleyServer({ url: cluster.signaling[1]!, apiKey: API_KEY, secret: TEST_SECRET });
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await cluster?.stop();
    await receiver?.close();
  });

  it('delivers each event of a room’s life once, signed, first time; a refusing endpoint dead-letters them', async () => {
    const room = 'hooks-normal';
    await roomLife(room);
    await waitFor('every event of the room', allArrived(room), 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // anything delivered twice would show by now
    expect([...types(room)].sort()).toEqual([...LIFE].sort());
    const mine = receiver.received.filter((r) => r.event.room.roomId === room);
    expect(mine.every((r) => r.attempt === 1)).toBe(true);
    expect(new Set(mine.map((r) => r.event.id)).size).toBe(mine.length);
    expect(receiver.invalid).toBe(0);
    const joined = mine.find((r) => r.event.event === 'participant_joined')!.event;
    expect(joined.participant).toMatchObject({ identity: expect.stringMatching(/^id-(ada|bob)$/) });
    expect(mine.find((r) => r.event.event === 'chat_message')!.event.message?.text).toBe(`hello ${room}`);
    const sid = mine.find((r) => r.event.event === 'room_started')!.event.room.sid;
    expect(mine.find((r) => r.event.event === 'room_finished')!.event.room.sid).toBe(sid);
    expect(await total('/hooks', 'delivered')).toBeGreaterThanOrEqual(LIFE.length);
    const lags = mine.map((r) => r.at - r.event.createdAt).sort((x, y) => x - y);
    console.log(`[webhooks] event → receiver: median ${lags[Math.floor(lags.length / 2)]} ms, max ${lags.at(-1)} ms`);
    await waitFor('the refusals to be dead-lettered', async () => (await total('/reject', 'dead_lettered')) >= LIFE.length);
  });

  it('delivers everything recorded during a 30 s receiver outage once it is back, none lost', async () => {
    const room = 'hooks-outage';
    receiver.takeDown();
    const downAt = Date.now();
    await roomLife(room);
    const retriedBefore = await total('/hooks', 'retried');
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
    expect(types(room)).toEqual([]);
    receiver.bringUp();
    await waitFor('every event after the outage', allArrived(room), 20_000);
    expect([...types(room)].sort()).toEqual([...LIFE].sort());
    const mine = receiver.received.filter((r) => r.event.room.roomId === room);
    expect(mine.every((r) => r.attempt > 1)).toBe(true);
    expect(await total('/hooks', 'retried')).toBeGreaterThan(retriedBefore);
    console.log(
      `[webhooks] after a ${OUTAGE_MS / 1000} s outage: ${mine.length} events, attempts ${Math.min(...mine.map((r) => r.attempt))}–${Math.max(...mine.map((r) => r.attempt))}, all within ${Math.max(...mine.map((r) => r.at)) - (downAt + OUTAGE_MS)} ms of the receiver coming back`,
    );
  }, 90_000);

  it('loses nothing when the signaling instance delivering an event is killed mid-delivery', async () => {
    const room = 'hooks-kill';
    await api.createRoom(room);
    const held = receiver.holdNext((event) => event.room.roomId === room);
    await api.sendMessage(room, 'who delivers me?');
    const { received } = await held;
    const victim = cluster.processes.find((p) => p.output().includes(`instance ${received.instance}, region`));
    expect(victim, `the process of instance ${received.instance}`).toBeDefined();
    victim!.child.kill('SIGKILL');
    const victimPort = /listening on https?:\/\/[^\s:]+:(\d+)/.exec(victim!.output())?.[1];
    const survivor = cluster.signaling.find((url) => !url.endsWith(`:${victimPort}`))!;
    // The held event (room_started or the message) arrives again, from the surviving instance.
    await waitFor(
      `${received.event.event} again from the other instance`,
      () => receiver.received.some((r) => r.event.id === received.event.id && r.instance !== received.instance),
      15_000,
    );
    const after = new ParleyServer({ url: survivor, apiKey: API_KEY });
    await after.sendMessage(room, 'after the kill');
    await after.closeRoom(room);
    await waitFor(
      'everything of the room',
      () =>
        types(room).includes('room_finished') &&
        receiver.received.filter((r) => r.event.room.roomId === room && r.event.event === 'chat_message').length >= 2,
      15_000,
    );
    expect(types(room).filter((t) => t === 'room_started')).toHaveLength(1);
    expect(receiver.invalid).toBe(0);
  });
});
