import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * One private network namespace for a whole browser test (deployment and browsers), for browsers that will
 * not do ICE over loopback (Firefox): `lo` plus a veth pair whose both ends stay inside, 10.77.0.1 (the media
 * worker announces it) and 10.77.0.2 (default route). Nothing inside reaches the host's network, and
 * nothing on the host changes. (harness/netns.ts models several hosts on a bridge instead.)
 */
export const NETNS_MEDIA_ADDRESS = '10.77.0.1';

const SETUP = [
  'ip link set lo up',
  'ip link add pv0 type veth peer name pv1',
  `ip addr add ${NETNS_MEDIA_ADDRESS}/24 dev pv0`,
  'ip addr add 10.77.0.2/24 dev pv1',
  'ip link set pv0 up',
  'ip link set pv1 up',
  'ip route replace default dev pv1',
].join(' && ');

/** Copies bytes between stdin/stdout and a TCP port inside the namespace (argv[1]). */
const RELAY = `const s=require('net').connect(+process.argv[1],'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout);
s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(1));process.stdin.on('end',()=>s.end());`;

export interface BrowserNetns {
  /** argv that runs `command args` inside the namespace. */
  wrap(command: string, args: string[]): [string, string[]];
  /** An executable script running `executable` inside the namespace, for launchers that take a path. */
  wrapperScript(executable: string): string;
  /** Makes 127.0.0.1:`port` on the host reach 127.0.0.1:`port` inside (e.g. a browser's control port). */
  forward(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Why the namespace cannot be made here, or null when it can. */
export function browserNetnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating a network namespace needs root';
  for (const tool of ['unshare', 'nsenter', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (util-linux, iproute2)`;
  }
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', SETUP], { encoding: 'utf8' });
  if (probe.status !== 0) return `cannot create a network namespace: ${probe.stderr.trim()}`;
  return null;
}

export async function createBrowserNetns(): Promise<BrowserNetns> {
  // Anonymous (unshare, no /run/netns entry): it lives exactly as long as this holder process.
  const holder = spawn('unshare', ['-n', 'sh', '-c', `${SETUP} && echo ready && exec sleep 100000`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    holder.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`network namespace setup failed (${code}): ${err}`)));
  });
  const nsPath = `/proc/${holder.pid}/ns/net`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-netns-'));
  const servers: net.Server[] = [];
  const relays = new Set<ChildProcess>();

  return {
    wrap: (command, args) => ['nsenter', [`--net=${nsPath}`, '--', command, ...args]],
    wrapperScript(executable) {
      const file = path.join(dir, path.basename(executable));
      fs.writeFileSync(file, `#!/bin/sh\nexec nsenter --net=${nsPath} -- ${executable} "$@"\n`, { mode: 0o755 });
      return file;
    },
    async forward(port) {
      // Each connection gets a relay process inside the namespace; no port is opened anywhere but loopback.
      const server = net.createServer((socket) => {
        const relay = spawn('nsenter', [`--net=${nsPath}`, '--', process.execPath, '-e', RELAY, String(port)], {
          stdio: ['pipe', 'pipe', 'ignore'],
        });
        relays.add(relay);
        socket.pipe(relay.stdin!);
        relay.stdout!.pipe(socket);
        socket.on('error', () => relay.kill());
        socket.on('close', () => relay.kill());
        relay.on('exit', () => {
          relays.delete(relay);
          socket.destroy();
        });
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      for (const relay of relays) relay.kill();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      holder.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
