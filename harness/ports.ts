import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
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
