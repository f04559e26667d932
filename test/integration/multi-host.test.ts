import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_TTL_MS } from '../../protocol/media.ts';
import { TEST_SECRET, token } from '../../harness/cluster.ts';
import { TestNetwork } from '../../harness/netns.ts';
import { repoRoot } from '../../harness/processes.ts';
import type { Running } from '../../harness/processes.ts';

/**
 * A real multi-host deployment on one machine: nats, two media hosts (each announcing its own address), two
 * signaling hosts and a client host, each its own network namespace behind one switch. A room spans both
 * media hosts; then one media host is taken away (processes killed, cable pulled) and its participants must
 * receive media again on the other host within 5 s.
 */
const created = TestNetwork.create();
const net = 'network' in created ? created.network : undefined;
if (!net) console.log(`multi-host test skipped: ${'skip' in created ? created.skip : ''}`);

const hosts = {
  nats: '10.77.0.10',
  media1: '10.77.0.11',
  media2: '10.77.0.12',
  sig1: '10.77.0.21',
  sig2: '10.77.0.22',
  client: '10.77.0.31',
};
const nodeTs = (entry: string) => [process.execPath, ['--import', 'tsx', `${repoRoot}/${entry}`]] as const;
const common = { PARLEY_SECRET: TEST_SECRET, NATS_URL: `nats://${hosts.nats}:4222`, MEDIA_LOG_LEVEL: 'warn' };

interface BotState {
  peerId: string;
  camera: string | null;
  consuming: string[];
  peers: string[];
  resets: number;
  firstRemoteVideoMs: number | null;
  videoFramesDecoded: number;
  audioPacketsReceived: number;
}

describe.skipIf(!net)('multi-host deployment in network namespaces', () => {
  const network = net!;
  const media: Record<string, Running> = {};
  const bots: Record<string, Running> = {};
  const signaling: Running[] = [];

  const state = (name: string): BotState | undefined => {
    const lines = bots[name]!.output()
      .split('\n')
      .filter((l) => l.startsWith('BOT '));
    const last = lines.at(-1);
    return last ? (JSON.parse(last.slice(4)) as BotState) : undefined;
  };
  const until = async <T>(what: string, check: () => T | undefined | false, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}: ${JSON.stringify(Object.keys(bots).map(state))}\n${signaling.map((p) => p.output()).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** The registry as a signaling host sees it (/readyz counts live media workers). */
  const liveMediaWorkers = () => {
    const script = `fetch('http://${hosts.sig2}:3000/readyz').then(r => r.json()).then(j => console.log(j.mediaWorkers ?? 0))`;
    return Number(network.run('client', process.execPath, ['-e', script]).trim());
  };
  const startMedia = async (name: 'media1' | 'media2') => {
    const [cmd, args] = nodeTs('media-worker/main.ts');
    const env = {
      ...common,
      MEDIA_INSTANCE_ID: name,
      MEDIA_LISTEN_IP: hosts[name],
      MEDIA_ANNOUNCED_ADDRESS: hosts[name],
      MEDIA_WORKERS: '1',
      MEDIA_MAX_CONSUMERS_PER_WORKER: '2',
    };
    media[name] = await network.start(name, cmd, [...args], { name, env, ready: /ready with/ });
  };
  const startBot = async (name: string, signalingHost: 'sig1' | 'sig2') => {
    const [cmd, args] = nodeTs('harness/bot-runner.ts');
    const env = {
      BOT_URL: `http://${hosts[signalingHost]}:3000`,
      BOT_ROOM: 'multihost',
      BOT_NAME: name,
      BOT_TOKEN: await token(name),
    };
    bots[name] = await network.start('client', cmd, [...args], { name: `bot ${name}`, env, ready: /^BOT /m, timeoutMs: 20_000 });
  };

  beforeAll(async () => {
    for (const [name, ip] of Object.entries(hosts)) network.addHost(name, ip);
    await network.start(
      'nats',
      'nats-server',
      ['-a', hosts.nats, '-p', '4222', '-js', '-sd', `/tmp/parley-netns-nats-${process.pid}`],
      {
        name: 'nats-server',
        ready: /Server is ready/,
      },
    );
    await startMedia('media1');
    for (const name of ['sig1', 'sig2'] as const) {
      const [cmd, args] = nodeTs('signaling/main.ts');
      signaling.push(
        await network.start(name, cmd, [...args], { name, env: { ...common, PORT: '3000' }, ready: /listening on/ }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    await network?.destroy();
  });

  it('spans a room across media hosts and fails over when one host disappears', async () => {
    await startBot('Ada', 'sig1');
    await startBot('Bob', 'sig1');
    await until('Bob to decode Ada', () => (state('Bob')?.videoFramesDecoded ?? 0) > 0, 15_000);
    // A second media host joins (as an autoscaler would add one); the home host reports itself full at its
    // next heartbeat, and only then does placement spill the next participant over.
    await startMedia('media2');
    await new Promise((r) => setTimeout(r, 2500));
    await startBot('Cara', 'sig2');
    const cara = await until(
      'Cara to decode Ada across hosts',
      () => {
        const s = state('Cara');
        return s && s.videoFramesDecoded > 0 && s.audioPacketsReceived > 0 ? s : undefined;
      },
      15_000,
    );
    console.log(`cross-host: Cara's join → first remote frame ${cara.firstRemoteVideoMs} ms`);
    expect(liveMediaWorkers()).toBe(2);

    const home = 'media1';
    const killedAt = Date.now();
    media[home]!.child.kill('SIGKILL');
    network.unplug(home);
    const ada = state('Ada')!;
    await until(
      'Bob and Cara to decode Ada’s media from the surviving host',
      () => {
        const now = state('Ada');
        const moved = now && now.resets === 1 && now.camera && now.camera !== ada.camera ? now.camera : undefined;
        return moved && ['Bob', 'Cara'].every((n) => state(n)!.consuming.includes(moved) && state(n)!.videoFramesDecoded > 0);
      },
      5000,
    );
    const failoverMs = Date.now() - killedAt;
    console.log(`multi-host failover: media again ${failoverMs} ms after losing ${home}`);
    expect(failoverMs).toBeLessThan(5000);
    expect(state('Cara')!.peers).toContain(ada.peerId);

    await until('the registry to forget the lost host', () => liveMediaWorkers() === 1, REGISTRY_TTL_MS + 3000);
    console.log(`multi-host: registry forgot ${home} after ${Date.now() - killedAt} ms`);
  });
});
