import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_SECRET } from './cluster.ts';
import type { Cluster } from './cluster.ts';
import { NETNS_MEDIA_ADDRESS } from './firefox-netns.ts';
import type { BrowserNetns } from './firefox-netns.ts';
import { repoRoot, startProcess } from './processes.ts';
import type { Running } from './processes.ts';

/** Inside a fresh namespace every port is free, so fixed ones keep the URLs readable. */
const NATS_PORT = 4222;
const SIGNALING_PORT = 3000;

/**
 * The distributed deployment (nats-server, media-worker, signaling serving the web app) inside `ns`, the
 * media worker announcing `address` (the veth's). Its URL is only reachable from inside (browsers launched
 * there), or from other namespaces at `address` (harness/netns.ts).
 */
export async function startClusterIn(ns: Pick<BrowserNetns, 'wrap'>, address = NETNS_MEDIA_ADDRESS): Promise<Cluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-'));
  const processes: Running[] = [];
  const env = {
    MEDIA_WORKERS: '1',
    MEDIA_LOG_LEVEL: 'warn',
    PARLEY_SECRET: TEST_SECRET,
    PARLEY_DEV_TOKENS: '1',
    NATS_URL: `nats://127.0.0.1:${NATS_PORT}`,
    MEDIA_ANNOUNCED_ADDRESS: address,
    MEDIA_LISTEN_IP: address,
  };
  const start = (name: string, command: string, args: string[], ready: RegExp, extra: NodeJS.ProcessEnv = {}) => {
    const [cmd, argv] = ns.wrap(command, args);
    return startProcess(cmd, argv, { name, env: { ...env, ...extra }, ready });
  };
  const tsx = (entry: string) => ['--import', 'tsx', path.join(repoRoot, entry)];
  const cluster: Cluster = {
    signaling: [`http://127.0.0.1:${SIGNALING_PORT}`],
    processes,
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    processes.push(
      await start(
        'nats-server',
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(NATS_PORT), '-js', '-sd', dir],
        /Server is ready/,
      ),
    );
    processes.push(await start('media-worker', process.execPath, tsx('media-worker/main.ts'), /ready with/));
    processes.push(
      await start('signaling', process.execPath, tsx('signaling/main.ts'), /listening on/, {
        PORT: String(SIGNALING_PORT),
        WEB_ROOT: `${repoRoot}/web/dist`,
      }),
    );
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
