import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { crashLines, FuzzSocket, natsMessage, newTally, sendNatsCommand, wsFrame } from '../../harness/fuzz.ts';
import type { FuzzIds } from '../../harness/fuzz.ts';
import { RegistryReader } from '../../harness/registry.ts';

/**
 * Property-based, mutational fuzzing (fast-check) of the WebSocket protocol and of the NATS media command
 * API, bounded for CI (a few thousand messages; `npm run fuzz` sends ≥ 100,000). Properties: every frame
 * gets exactly one schema-valid response (ok or a typed error code), the socket stays open, no process
 * crashes or logs an unhandled failure, and Ada → Bob media in the same room keeps flowing.
 * The rate limit is lifted for the fuzzing cluster so frames reach the parsers instead of RATE_LIMITED.
 */
const ROOM = 'fuzz-victim';
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe('fuzzing the WebSocket protocol and the NATS media API', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  let ada: Bot;
  let bob: Bot;
  let ids: FuzzIds;
  let instanceId: string;
  const decoded = async () => (await bob.stats()).videoFramesDecoded;

  beforeAll(async () => {
    // Both runtimes: the same Hono app parses the frames, but Deno's WebSocket and JSON are its own.
    cluster = await startDistributed({
      signaling: ['node', 'deno'],
      env: { RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' },
    });
    registry = await RegistryReader.open(cluster.nats!.url);
    ada = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Ada', token: await token('Ada') });
    bob = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Bob', token: await token('Bob') });
    await ada.publish();
    await waitFor('Bob to decode Ada', async () => (await decoded()) > 0);
    await waitFor('Bob to consume both of Ada’s producers', () => bob.remoteConsumers().length === 2);
    ids = {
      rooms: [ROOM, 'fuzz-other'],
      peers: [ada.peerId, bob.peerId],
      producers: [ada.producerId('camera')!, ada.producerId('microphone')!],
      consumers: bob.remoteConsumers().map((c) => c.id),
      transports: [ada.transportIds().send!, bob.transportIds().recv!],
    };
    instanceId = (await waitFor('the registry', async () => (await registry.loads())[0]))!.instanceId;
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces)`);
  });
  afterAll(async () => {
    ada?.close();
    bob?.close();
    await registry?.close();
    await cluster?.stop();
  });

  const expectHealthy = async (label: string, since: number) => {
    await waitFor(`${label}: Bob to keep decoding Ada`, async () => (await decoded()) > since + 15, 10_000);
    expect(bob.remoteConsumers().filter((c) => c.peerId === ada.peerId)).toHaveLength(2);
    expect(ada.producerId('camera')).toBeDefined();
    for (const p of cluster.processes) {
      expect(p.child.exitCode, p.output()).toBeNull();
      expect(crashLines(p.output())).toEqual([]);
    }
  };

  it('answers every mutated, malformed or hostile WebSocket frame with one typed response', { timeout: 60_000 }, async () => {
    const before = await decoded();
    const tally = newTally();
    // Two fuzzers: one on Node in the victims' room (uses their real ids), one on Deno joining anywhere it likes.
    const sockets = [await FuzzSocket.open(wsUrl(cluster.signaling[0]!, await token('Fuzzer')), tally)];
    await sockets[0]!.send([JSON.stringify({ id: 1, method: 'join', data: { room: ROOM } })]);
    sockets.push(await FuzzSocket.open(wsUrl(cluster.signaling[1]!, await token('Fuzzer2')), tally));
    let batchNo = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(wsFrame(ids), { minLength: 20, maxLength: 60 }), async (frames) => {
        const socket = sockets[batchNo++ % sockets.length]!;
        await socket.send(frames);
        return tally.violations.length === 0;
      }),
      { numRuns: Number(process.env.FUZZ_WS_RUNS ?? 60), seed: SEED, endOnFailure: true },
    );
    sockets.forEach((s) => s.close());
    console.log(
      `WebSocket fuzz (Node and Deno signaling): ${tally.sent} frames, ${tally.replies} responses, codes ${JSON.stringify(tally.codes)}`,
    );
    expect(tally.violations).toEqual([]);
    expect(tally.replies).toBe(tally.sent);
    await expectHealthy('after the WebSocket fuzz', before);
  });

  it('answers every mutated or junk NATS media command with a typed error reply', { timeout: 60_000 }, async () => {
    const before = await decoded();
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(
        fc.array(natsMessage(ids, ['fuzz-nats-0', 'fuzz-nats-1']), { minLength: 20, maxLength: 60 }),
        async (messages) => {
          await Promise.all(messages.map((m) => sendNatsCommand(registry.bus, instanceId, m, tally)));
          return tally.violations.length === 0;
        },
      ),
      { numRuns: Number(process.env.FUZZ_NATS_RUNS ?? 60), seed: SEED, endOnFailure: true },
    );
    console.log(`NATS fuzz: ${tally.sent} commands, codes ${JSON.stringify(tally.codes)}`);
    expect(tally.violations).toEqual([]);
    await expectHealthy('after the NATS fuzz', before);
  });
});
