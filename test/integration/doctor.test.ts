import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot, waitFor } from '../../bots/bot.ts';
import type { BotOptions } from '../../bots/bot.ts';
import type { Subscription } from '../../bus/bus.ts';
import { z } from 'zod';
import { subjects } from '../../protocol/subjects.ts';
import { RoomDiagnosis, SpanRecord } from '../../protocol/telemetry.ts';
import type { ConsumerHealth, HealthCause } from '../../protocol/telemetry.ts';
import { startDistributed, token } from '../helpers/cluster.ts';
import type { Cluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';
import { RegistryReader } from '../helpers/registry.ts';

/**
 * The black-screen doctor against real faults: Node bots misbehave on purpose (a subscriber that never
 * resumes and keeps closed tiles, one without VP8; a publisher that mutes, whose camera hangs, that closes its
 * camera) and the dashboard's API (signaling asks the media worker's `diagnose`) must name exactly the right
 * cause within 3 s of the fault's onset.
 */
const ROOM = 'doctor';
const NAMED_WITHIN_MS = 3_000;

describe('black-screen doctor: injected faults are named within 3 s', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  let admin: string;
  let metricsPort: number;
  let spansSub: Subscription;
  const spans: SpanRecord[] = [];
  const bots: Bot[] = [];
  let ada: Bot;
  let bob: Bot;
  /** Bob's consumer of Ada's camera. */
  let bobsCamera: string;

  const join = async (name: string, options: Partial<BotOptions> = {}) => {
    const bot = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name, token: await token(name), ...options });
    bots.push(bot);
    return bot;
  };
  /** As the dashboard sees it: the signaling instance's debug API, which asks the media worker. */
  const consumersOf = async (peerId: string): Promise<ConsumerHealth[]> => {
    const res = await fetch(`${cluster.signaling[0]}/debug/api/rooms`, { headers: { authorization: `Bearer ${admin}` } });
    const { rooms } = z.object({ rooms: z.array(RoomDiagnosis) }).parse(await res.json());
    return rooms.find((r) => r.roomId === ROOM)?.peers.find((p) => p.id === peerId)?.consumers ?? [];
  };
  const healthOf = async (peerId: string, consumerId: string) => (await consumersOf(peerId)).find((c) => c.consumerId === consumerId);

  /**
   * Polls until the consumer is named `cause`; returns how long after `onset` (epoch ms) the doctor named it
   * and every cause it showed meanwhile (so a wrong name on the way fails the test).
   */
  const named = async (peerId: string, consumerId: string, cause: HealthCause, onset: number) => {
    const seen = new Set<string>();
    const health = await waitFor(`${consumerId} to be named ${cause}`, async () => {
      const h = await healthOf(peerId, consumerId);
      if (h?.cause) seen.add(h.cause);
      return h?.cause === cause ? h : undefined;
    }, 10_000);
    const ms = health.since - onset;
    console.log(`named ${cause} in ${(ms / 1000).toFixed(2)} s`);
    expect([...seen]).toEqual([cause]);
    expect(ms).toBeLessThan(NAMED_WITHIN_MS);
    return health;
  };
  const becomesHealthy = (peerId: string, consumerId: string) =>
    waitFor(`${consumerId} to be healthy again`, async () => (await healthOf(peerId, consumerId))?.status === 'healthy', 10_000);

  beforeAll(async () => {
    metricsPort = await freePort();
    cluster = await startDistributed({ env: { MEDIA_METRICS_PORT: String(metricsPort) } });
    admin = await token('Operator', { admin: true });
    registry = await RegistryReader.open(cluster.nats!.url);
    await waitFor('the media worker to register', async () => (await registry.loads())[0]);
    spansSub = registry.bus.subscribe(subjects.telemetrySpans, (msg) => {
      for (const s of (msg.data as { spans: unknown[] }).spans) {
        const parsed = SpanRecord.safeParse(s);
        if (parsed.success) spans.push(parsed.data);
      }
    });
    ada = await join('Ada');
    await ada.publish();
  });
  afterAll(async () => {
    spansSub?.unsubscribe();
    bots.forEach((b) => b.close());
    await registry?.close();
    await cluster?.stop();
  });

  it('names consumer-never-resumed, resumes it server-side, and the picture arrives', async () => {
    bob = await join('Bob', { faults: { neverResume: true, keepClosedConsumers: true } });
    const camera = ada.producerId('camera')!;
    const consumer = await waitFor('Bob to consume Ada’s camera', () => bob.remoteConsumers().find((c) => c.producerId === camera));
    bobsCamera = consumer.id;
    const health = await named(bob.peerId, bobsCamera, 'consumer-never-resumed', consumer.consumedAt);
    expect(health.traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor('Bob to decode Ada after the doctor resumed his consumer', async () => (await bob.stats()).videoFramesDecoded > 0, 10_000);
    await becomesHealthy(bob.peerId, bobsCamera);
    const after = await waitFor('Bob to report decoded frames', async () => {
      const h = await healthOf(bob.peerId, bobsCamera);
      return (h?.client?.framesDecoded ?? 0) > 0 ? h : undefined;
    });
    expect(after.status).toBe('healthy');
    expect(after.remediations).toContainEqual(expect.objectContaining({ action: 'resume-consumer', cause: 'consumer-never-resumed' }));
    expect(after.server.paused).toBe(false);
    expect(after.server.keyFrames).toBeGreaterThan(0);
  });

  it('names producer-paused while the publisher is muted, healthy again after', async () => {
    const onset = Date.now();
    await ada.setPaused('camera', true);
    await named(bob.peerId, bobsCamera, 'producer-paused', onset);
    await ada.setPaused('camera', false);
    await becomesHealthy(bob.peerId, bobsCamera);
  });

  it('names codec-unsupported for a subscriber that cannot decode VP8, and only for the camera', async () => {
    const cara = await join('Cara', { faults: { withoutCodecs: ['video/VP8'] } });
    const failure = await waitFor('Cara’s consume of the camera to be refused', () => cara.requestErrors.find((e) => e.method === 'consume'));
    const onset = Date.now() - (performance.now() - failure.at);
    await named(cara.peerId, `unsupported-${ada.producerId('camera')}`, 'codec-unsupported', onset);
    const microphone = ada.producerId('microphone');
    await waitFor('Cara’s microphone consumer to be healthy', async () =>
      (await consumersOf(cara.peerId)).some((c) => c.producerId === microphone && c.status === 'healthy'),
    );
  });

  it('names no-rtp-from-producer when the publisher’s camera hangs (its producer stays unpaused)', async () => {
    const onset = Date.now();
    ada.stopSource('camera');
    const health = await named(bob.peerId, bobsCamera, 'no-rtp-from-producer', onset);
    expect(health.server.producerPaused).toBe(false);
  });

  it('names producer-closed for a client that keeps showing the closed consumer, and tells it again', async () => {
    const onset = Date.now();
    await ada.unpublish('camera');
    await named(bob.peerId, bobsCamera, 'producer-closed', onset);
    await waitFor('Bob to be told twice that the consumer closed', () => (bob.closedNotices.get(bobsCamera) ?? 0) >= 2, 5_000);
    const health = (await healthOf(bob.peerId, bobsCamera))!;
    expect(health.remediations).toContainEqual(expect.objectContaining({ action: 'close-consumer', cause: 'producer-closed' }));
  });

  it('keeps the consumer’s whole life in its trace', async () => {
    const lifecycle = await waitFor('the consumer’s lifecycle span to be relayed', () =>
      spans.find((s) => s.name === 'parley.consumer' && s.attributes['parley.consumer'] === bobsCamera),
    );
    const inTrace = spans.filter((s) => s.traceId === lifecycle.traceId);
    const happenings = [...lifecycle.events.map((e) => e.name), ...inTrace.map((s) => s.name.replace(/^parley\.consumer\./, ''))];
    const life = ['created', 'remediation', 'resumed', 'first-rtp', 'client-first-frame', 'producer-paused', 'producer-resumed', 'producer-closed'];
    for (const event of [...life, 'verdict']) expect(happenings).toContain(event);
    expect(inTrace.map((s) => s.name)).toContain('mediasoup.consume');
    expect(inTrace.map((s) => s.name)).toContain('mediasoup.resumeConsumer');
  });

  it('exports verdicts and repairs to Prometheus', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/parley_consumer_health\{instance="[^"]+",status="unhealthy",cause="codec-unsupported"\} 1/);
    expect(text).toMatch(/parley_consumer_health\{instance="[^"]+",status="healthy",cause=""\} \d+/);
    expect(text).toMatch(/parley_consumer_remediations_total\{instance="[^"]+",action="resume-consumer",cause="consumer-never-resumed"\} [1-9]/);
  });
});
