import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

/**
 * A TCP port that was free a moment ago, below the kernel's ephemeral range. A port the OS hands out for
 * listen(0) comes from that range, and once closed it can be taken as the source port of any outgoing connection
 * (a NATS client, a browser) before the process it was meant for listens: in a full run a media-worker found its
 * metrics port so taken.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = FREE_PORTS.min + Math.floor(Math.random() * (FREE_PORTS.max - FREE_PORTS.min));
    if (await canListen(port)) return port;
  }
}

/** Where freePort picks; tests' UDP media port ranges (regionFaces) lie above it, the ephemeral range above both. */
export const FREE_PORTS = { min: 10_000, max: 20_000 };

/** Whether a TCP listener on every address can have `port` now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * This machine's own address (not loopback): what a node's `status.hostIP` is in Kubernetes, and what
 * PARLEY_ANNOUNCED_ADDRESS is set to in Compose to serve other devices. The default route's source when there is
 * one, else the first non-internal IPv4 address (a machine with no route out still has its own address).
 */
export function hostAddress(): string {
  const route = spawnSync('ip', ['-4', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' }).stdout ?? '';
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  if (src) return src;
  const own = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!own) throw new Error('this machine has no IPv4 address but loopback');
  return own.address;
}
