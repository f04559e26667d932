/**
 * Full-size fuzzing (not in CI): `npm run fuzz [-- --messages 100000 --seed 42]`.
 * Starts nats-server, a media-worker and Node signaling (rate limit lifted), puts Ada (publishing) and Bob
 * (consuming) in a room, then sends `--messages` mutated/malformed WebSocket frames (from 4 connections, two
 * in the victims' room) and as many mutated/junk NATS media commands. Checks: one typed response per frame,
 * a typed reply per command, no crash or unhandled failure in any process, Bob still decodes Ada. Exits 1 on
 * any violation. Generators: harness/fuzz.ts.
 */
import fc from 'fast-check';
import { Bot } from '../bots/bot.ts';
import { waitFor } from '../harness/wait.ts';
import { startDistributed, token, wsUrl } from '../harness/cluster.ts';
import { crashLines, FuzzSocket, natsMessage, newTally, sendNatsCommand, wsFrame } from '../harness/fuzz.ts';
import { RegistryReader } from '../harness/registry.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('messages', 100_000);
const SEED = arg('seed', Date.now() % 1_000_000);
const ROOM = 'fuzz-victim';
const unhandled: string[] = [];
process.on('unhandledRejection', (err) => unhandled.push(String(err)));

const cluster = await startDistributed({
  signaling: ['node', 'deno'],
  env: { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000' },
});
const registry = await RegistryReader.open(cluster.nats!.url);
let failed = false;
try {
  const ada = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Ada', token: await token('Ada') });
  const bob = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name: 'Bob', token: await token('Bob') });
  await ada.publish();
  await waitFor('Bob to consume Ada', () => bob.remoteConsumers().length === 2);
  const decoded = async () => (await bob.stats()).videoFramesDecoded;
  const ids = {
    rooms: [ROOM, 'fuzz-other'],
    peers: [ada.peerId, bob.peerId],
    producers: [ada.producerId('camera')!, ada.producerId('microphone')!],
    consumers: bob.remoteConsumers().map((c) => c.id),
    transports: [ada.transportIds().send!, bob.transportIds().recv!],
  };
  const instanceId = (await waitFor('the registry', async () => (await registry.loads())[0]))!.instanceId;
  console.log(`fuzzing with seed ${SEED}: ${MESSAGES} WebSocket frames and ${MESSAGES} NATS commands`);

  const check = async (label: string, before: number) => {
    await waitFor(`${label}: Bob to keep decoding Ada`, async () => (await decoded()) > before + 15, 10_000);
    const dead = cluster.processes.filter((p) => p.child.exitCode !== null);
    const crashes = cluster.processes.flatMap((p) => crashLines(p.output()));
    if (dead.length || crashes.length) throw new Error(`${label}: ${dead.length} process(es) exited; ${crashes.join('\n')}`);
  };

  // WebSocket.
  let before = await decoded();
  const ws = newTally();
  const sockets = await Promise.all(
    [0, 1, 2, 3].map(async (i) => FuzzSocket.open(wsUrl(cluster.signaling[i % 2]!, await token(`Fuzzer${i}`)), ws)),
  );
  await Promise.all(sockets.slice(0, 2).map((s) => s.send([JSON.stringify({ id: 1, method: 'join', data: { room: ROOM } })])));
  const frames = fc.array(wsFrame(ids), { minLength: 100, maxLength: 100 });
  let started = Date.now();
  for (let batch = 0; ws.sent < MESSAGES; batch++) {
    const [chunk] = fc.sample(frames, { numRuns: 1, seed: SEED + batch });
    const socket = sockets[batch % sockets.length]!;
    if (socket.closed) throw new Error(`fuzzing socket closed: ${socket.closed}`);
    await socket.send(chunk!);
    if (batch % 100 === 0) process.stdout.write(`\rWebSocket: ${ws.sent} frames, ${ws.violations.length} violations`);
    if (ws.violations.length > 20) break;
  }
  console.log(
    `\nWebSocket fuzz: ${ws.sent} frames, ${ws.replies} responses in ${Date.now() - started} ms; codes ${JSON.stringify(ws.codes)}`,
  );
  sockets.forEach((s) => s.close());
  await check('after the WebSocket fuzz', before);

  // NATS.
  before = await decoded();
  const bus = newTally();
  const commands = fc.array(natsMessage(ids, ['fuzz-nats-0', 'fuzz-nats-1']), { minLength: 50, maxLength: 50 });
  started = Date.now();
  for (let batch = 0; bus.sent < MESSAGES; batch++) {
    const [chunk] = fc.sample(commands, { numRuns: 1, seed: SEED + 7919 * batch });
    await Promise.all(chunk!.map((m) => sendNatsCommand(registry.bus, instanceId, m, bus)));
    if (batch % 100 === 0) process.stdout.write(`\rNATS: ${bus.sent} commands, ${bus.violations.length} violations`);
    if (bus.violations.length > 20) break;
  }
  console.log(`\nNATS fuzz: ${bus.sent} commands in ${Date.now() - started} ms; codes ${JSON.stringify(bus.codes)}`);
  await check('after the NATS fuzz', before);

  const violations = [...ws.violations, ...bus.violations, ...unhandled];
  console.log(violations.length ? `VIOLATIONS:\n${violations.slice(0, 40).join('\n')}` : 'no violations');
  failed = violations.length > 0;
  ada.close();
  bob.close();
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  await registry.close();
  await cluster.stop();
}
process.exit(failed ? 1 : 0);
