import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { StartupError } from '../../config/startup.ts';

/**
 * Where the mediasoup-worker binary is: MEDIASOUP_WORKER_BIN if set, else the cache that
 * media-worker/worker-build/build.sh fills (npm here never runs mediasoup's own download).
 */
export function resolveWorkerBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEDIASOUP_WORKER_BIN) {
    if (!fs.existsSync(env.MEDIASOUP_WORKER_BIN)) {
      throw new StartupError(`configuration: MEDIASOUP_WORKER_BIN: no file at ${env.MEDIASOUP_WORKER_BIN}`);
    }
    return env.MEDIASOUP_WORKER_BIN;
  }
  const require = createRequire(import.meta.url);
  // mediasoup's exports hide package.json; its main module sits at node/lib/index.js inside the package.
  const pkg = path.resolve(path.dirname(require.resolve('mediasoup')), '..', '..', 'package.json');
  const { version } = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string };
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const bin = path.join(cacheHome, 'parley', 'mediasoup-worker', version, 'mediasoup-worker');
  if (!fs.existsSync(bin)) {
    throw new StartupError(`mediasoup-worker ${version} not found at ${bin}: run 'bash media-worker/worker-build/build.sh'`);
  }
  // Children (and mediasoup's own defaults) see the same binary.
  env.MEDIASOUP_WORKER_BIN = bin;
  return bin;
}
