import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import { subjects } from '../../protocol/subjects.ts';
import { startDistributed, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { freePort } from '../../harness/ports.ts';
import { RegistryReader } from '../../harness/registry.ts';

/**
 * The media plane with real mediasoup workers over a real nats-server: a room that outgrows one worker,
 * mute, active speaker, recovery from a killed worker, bad commands straight onto NATS, metrics and drain.
 * Two workers with a budget of 2 consumers each, so the third participant lands on the second worker.
 */
describe('media worker: rooms across workers, media features, recovery', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  let metricsPort: number;
  const bots: Bot[] = [];
  let ada: Bot;
  let bob: Bot;
  let cara: Bot;

  const join = async (name: string) => {
    const bot = await Bot.join({ url: cluster.signaling[0]!, room: 'plane', name, token: await token(name) });
    bots.push(bot);
    return bot;
  };
  const decoded = async (bot: Bot) => (await bot.stats()).videoFramesDecoded;
  const decodesMore = async (bot: Bot, timeoutMs = 10_000) => {
    const before = await decoded(bot);
    await waitFor(`${bot.name} to decode new frames`, async () => (await decoded(bot)) > before + 5, timeoutMs);
  };
  const loads = async () => (await registry.loads())[0]!;

  beforeAll(async () => {
    metricsPort = await freePort();
    cluster = await startDistributed({
      env: { MEDIA_WORKERS: '2', MEDIA_MAX_CONSUMERS_PER_WORKER: '2', MEDIA_METRICS_PORT: String(metricsPort) },
    });
    registry = await RegistryReader.open(cluster.nats!.url);
  });
  afterAll(async () => {
    bots.forEach((b) => b.close());
    await registry?.close();
    await cluster?.stop();
  });

  it('puts the participant beyond one worker’s budget on the next worker and pipes media to it', async () => {
    ada = await join('Ada');
    await ada.publish();
    bob = await join('Bob');
    await waitFor('Bob to decode Ada', async () => (await decoded(bob)) > 0);
    cara = await join('Cara');
    await waitFor('Cara to decode Ada through a pipe', async () => (await decoded(cara)) > 0);
    expect((await cara.stats()).audioPacketsReceived).toBeGreaterThan(0);
    await waitFor(
      'the registry to show the room on both workers',
      async () => {
        const perWorker = (await loads()).perWorker;
        return perWorker.every((w) => w.routers === 1 && w.consumers === 2) ? perWorker : undefined;
      },
      10_000,
    );
  });

  it('tells everyone who is speaking', async () => {
    // Each participant hears it on its own connection: wait for every one of them, not the first.
    await waitFor(
      'Bob and Cara to hear that Ada is the active speaker',
      () => [bob, cara].every((b) => b.activeSpeaker === ada.peerId),
      10_000,
    );
  });

  it('mutes and unmutes: consumers learn it and media stops and resumes', async () => {
    const camera = ada.producerId('camera')!;
    await ada.setPaused('camera', true);
    await waitFor(
      'Bob and Cara to see the camera paused',
      () => bob.pausedProducers.has(camera) && cara.pausedProducers.has(camera),
    );
    // Media stops: no video packet arrives any more (counted as received, so a loaded machine's decoding lag
    // does not blur it). What was in flight when the pause took effect lands within a moment.
    const videoPackets = async () => (await bob.stats()).videoPacketsReceived;
    await waitFor('Bob’s video packets to stop', async () => {
      const before = await videoPackets();
      await new Promise((r) => setTimeout(r, 300));
      return (await videoPackets()) === before;
    });
    const frozen = await videoPackets();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await videoPackets()).toBe(frozen);
    await ada.setPaused('camera', false);
    await waitFor('Bob to see the camera resumed', () => !bob.pausedProducers.has(camera));
    await decodesMore(bob);
    await decodesMore(cara);
  });

  it('answers garbage sent straight to the media worker over NATS with typed errors, and keeps forwarding', async () => {
    const [instance] = (await registry.loads()).map((l) => l.instanceId);
    const ask = (command: string, data: unknown) =>
      registry.bus.request(subjects.mediaCommand(instance!, command as 'join'), data).catch((e: { code: string }) => e.code);
    expect(await ask('join', { roomId: 'plane' })).toBe('BAD_REQUEST');
    expect(await ask('join', 'not even an object')).toBe('BAD_REQUEST');
    expect(await ask('selfDestruct', {})).toBe('UNKNOWN_METHOD');
    expect(
      await ask('consume', { roomId: 'plane', peerId: bob.peerId, transportId: 'x', producerId: 'y', rtpCapabilities: {} }),
    ).toBe('NOT_FOUND');
    expect(await ask('resumeConsumer', { roomId: 'nowhere', peerId: 'p', consumerId: 'c' })).toBe('NOT_FOUND');
    expect(await ask('closeProducer', { roomId: 'plane', peerId: bob.peerId, producerId: ada.producerId('camera') })).toBe(
      'NOT_FOUND',
    );
    await decodesMore(bob);
  });

  it('restores media within 5 s after the worker of the publisher is killed, without a rejoin', async () => {
    const { perWorker } = await loads();
    const victim = perWorker.find((w) => w.index === 0)!;
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    await waitFor('Ada and Bob to be told to rebuild', () => ada.resets === 1 && bob.resets === 1, 5000);
    await Promise.all([decodesMore(bob, 5000), decodesMore(cara, 5000)]);
    const recoveredMs = Date.now() - killedAt;
    console.log(`media flowing again ${recoveredMs} ms after killing worker ${victim.pid}`);
    expect(recoveredMs).toBeLessThan(5000);
    expect(cara.resets).toBe(0);
    expect(bob.peers.has(ada.peerId)).toBe(true);
    const after = await waitFor(
      'the registry to show the replacement worker',
      async () => {
        const load = await loads();
        return load.perWorker.every((w) => w.pid !== victim.pid) ? load : undefined;
      },
      5000,
    );
    expect(after.workers).toBe(2);
  });

  it('exposes its load as Prometheus metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/parley_media_worker_consumers\{instance="[^"]+",worker="1",region="default"\} \d+/);
    expect(text).toMatch(/parley_media_capacity_consumers\{instance="[^"]+",region="default"\} 4/);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
  });

  it('drains on SIGTERM: takes no new rooms, keeps the current one', async () => {
    const worker = cluster.processes[0]!.child;
    worker.kill('SIGTERM');
    await waitFor('the registry to show the drain', async () => (await loads()).draining, 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${cluster.processes[0]!.output()}`);
    });
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal: AbortSignal.timeout(5000) })).status).toBe(503);
    const late = await Bot.join({
      url: cluster.signaling[0]!,
      room: 'after-drain',
      name: 'Late',
      token: await token('Late'),
    }).catch((err: Error) => err);
    expect(late).toBeInstanceOf(Error);
    expect(String(late)).toMatch(/no media worker is available/);
    await decodesMore(bob);
    expect(worker.exitCode).toBeNull();
  });
});
