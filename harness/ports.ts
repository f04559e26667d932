import { execFileSync } from 'node:child_process';
import net from 'node:net';

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
 * This machine's address on its default route (not loopback): what a node's `status.hostIP` is in Kubernetes, and
 * what PARLEY_ANNOUNCED_ADDRESS is set to in Compose to serve other devices.
 */
export function hostAddress(): string {
  const route = execFileSync('ip', ['-4', 'route', 'get', '1.1.1.1'], { encoding: 'utf8' });
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  if (!src) throw new Error(`no source address on the default route: ${route}`);
  return src;
}
