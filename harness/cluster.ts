import { FULL_GRANTS } from '../protocol/auth.ts';
import { createRequire } from 'node:module';
import { issueToken } from '../signaling/auth.ts';
import type { TokenRequest } from '../signaling/auth.ts';
import { startNats } from './nats.ts';
import type { NatsServer } from './nats.ts';
import { boundPort, repoRoot, startProcess, startTs } from './processes.ts';
import type { Running } from './processes.ts';

export interface Cluster {
  nats?: NatsServer;
  /** Base URLs (http://127.0.0.1:PORT) of the signaling servers. */
  signaling: string[];
  processes: Running[];
  stop(): Promise<void>;
}

/** Every test deployment signs tokens with this; tests mint their own with `token()`. */
export const TEST_SECRET = 'parley-test-secret-0123456789';
const quiet = { MEDIA_WORKERS: '1', MEDIA_LOG_LEVEL: 'warn', PARLEY_SECRET: TEST_SECRET, PARLEY_DEV_TOKENS: '1' };

export function token(name: string, options: Partial<TokenRequest> = {}): Promise<string> {
  return issueToken(TEST_SECRET, { identity: `id-${name.toLowerCase()}`, name, ...options });
}

/** A token with the `loadTest` grant: what the plain-RTP tester (bench/rtp) joins with. */
export function loadTestToken(name: string): Promise<string> {
  return token(name, { grants: { ...FULL_GRANTS, loadTest: true } });
}

/** The distributed mode as users run it: nats-server, media-worker and signaling as separate processes. */
export type Runtime = 'node' | 'deno';

export async function startDistributed(
  options: {
    signaling?: Runtime[];
    mediaWorkers?: number;
    webRoot?: boolean;
    env?: NodeJS.ProcessEnv;
    /** Each tier's own variables on top of `env`, e.g. its NATS credential (per media-worker: by its index). */
    mediaWorkerEnv?: NodeJS.ProcessEnv | ((index: number) => NodeJS.ProcessEnv);
    signalingEnv?: NodeJS.ProcessEnv | ((runtime: Runtime) => NodeJS.ProcessEnv);
    /** A nats-server of the caller's (e.g. one it restarts, see nats-control.ts); stopped with the cluster. */
    nats?: NatsServer;
  } = {},
): Promise<Cluster> {
  const nats = options.nats ?? (await startNats());
  const env = { ...quiet, ...options.env, NATS_URL: nats.url };
  const processes: Running[] = [];
  const cluster: Cluster = {
    nats,
    signaling: [],
    processes,
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await nats.stop();
    },
  };
  try {
    for (let i = 0; i < (options.mediaWorkers ?? 1); i++) {
      const own = typeof options.mediaWorkerEnv === 'function' ? options.mediaWorkerEnv(i) : options.mediaWorkerEnv;
      const workerEnv = { ...env, ...own };
      processes.push(await startTs('media-worker/main.ts', { name: `media-worker ${i}`, env: workerEnv, ready: /ready with/ }));
    }
    for (const runtime of options.signaling ?? ['node']) {
      const webRoot = options.webRoot ? { WEB_ROOT: `${repoRoot}/web/dist` } : {};
      const own = typeof options.signalingEnv === 'function' ? options.signalingEnv(runtime) : options.signalingEnv;
      const signaling = await startSignaling(runtime, nats, { ...env, PORT: '0', ...own, ...webRoot });
      processes.push(signaling);
      cluster.signaling.push(`http://127.0.0.1:${boundPort(signaling, LISTENING)}`);
    }
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** What signaling prints once it listens, with the port it bound. */
const LISTENING = /listening on https?:\/\/[^\s:]+:(\d+)/;

function startSignaling(runtime: Runtime, nats: NatsServer, env: NodeJS.ProcessEnv): Promise<Running> {
  const ready = LISTENING;
  if (runtime === 'node') return startTs('signaling/main.ts', { name: 'signaling (node)', env, ready });
  // Deno reaches NATS over its WebSocket listener, as an edge isolate would.
  const args = ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-sys', 'signaling/deno.ts'];
  return startProcess(denoBinary(), args, { name: 'signaling (deno)', env: { ...env, NATS_URL: nats.wsUrl }, ready });
}

/** The real deno executable: signals sent to npm's bin.cjs wrapper would not reach it. */
export function denoBinary(): string {
  const require = createRequire(import.meta.url);
  return (require('deno/install_api.cjs') as { runInstall(): string }).runInstall();
}

const RUNNING = /Parley is running: open https?:\/\/[^\s:]+:(\d+)/;

/**
 * The embedded default exactly as `npm start` runs it (one process, in-process bus); with `natsUrl`, the same
 * process joining a deployment.
 */
export async function startEmbedded(
  options: { https?: boolean; env?: NodeJS.ProcessEnv; natsUrl?: string } = {},
): Promise<Cluster> {
  const app = await startTs('scripts/start.ts', {
    name: 'parley (embedded)',
    env: { ...quiet, ...options.env, PORT: '0', NATS_URL: options.natsUrl ?? '', HTTPS: options.https ? '1' : '' },
    ready: RUNNING,
  });
  const port = boundPort(app, RUNNING);
  const scheme = options.https ? 'https' : 'http';
  return { signaling: [`${scheme}://127.0.0.1:${port}`], processes: [app], stop: () => app.stop() };
}

export function wsUrl(base: string, token: string, version = 1): string {
  return `${base.replace(/^http/, 'ws')}/ws?v=${version}&token=${encodeURIComponent(token)}`;
}
