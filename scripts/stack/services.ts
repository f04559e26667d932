import type { StackImages } from './images.ts';
import { NATS_USERS } from './nats-security.ts';

/**
 * What `npm run stack -- up` runs: the distributed deployment of infra/compose/compose.yaml on this machine, with
 * the same service names and the same configuration files (nats.conf, Caddyfile, prometheus.yml and its rules),
 * minus the OpenTelemetry Collector and Jaeger (no Debian packages; /debug shows traces).
 *
 * Every container gets a fixed address on the stack's own network and an /etc/hosts entry for every other one, so
 * the names in the configuration files resolve without a DNS plugin. Browsers on this machine reach the
 * media-workers at those addresses (their MEDIA_ANNOUNCED_ADDRESS), so no media port is published and a room
 * can span both media-workers; only the proxy and Prometheus are published, on 127.0.0.1.
 *
 * NATS takes TLS and a password per role (infra/nats/permissions.conf) on every listener; the stack makes both
 * (scripts/stack/nats-security.ts).
 */
export interface Service {
  name: string;
  image: keyof StackImages;
  /** Started together, after every earlier group is ready. */
  group: number;
  env?: Record<string, string>;
  command?: string[];
  /** Repository files mounted read-only: source (relative to the repository) → path in the container. */
  files?: Record<string, string>;
  /** What the stack generated, mounted read-only: the NATS servers' TLS directory, or the CA that signed it. */
  generated?: { natsTls?: string; natsCa?: string };
  /** Secrets as environment variables (podman secrets, never plain values on a command line): variable → secret. */
  secrets?: Record<string, StackSecret>;
  tmpfs?: string[];
  /** Published on 127.0.0.1: the container port. */
  publish?: number;
  /** Seconds `podman stop` waits after SIGTERM: at least the drain. */
  stopTimeout: number;
  /** Ready when this answers 200 at the container's address (from this machine). */
  ready: { port: number; path: string };
}

/** The stack's secrets: the token secret and one NATS password per role. */
export type StackSecret = 'parley' | 'natsSignaling' | 'natsMediaWorker';

export const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'];
export const MEDIA_WORKERS = ['media-worker-1', 'media-worker-2'];
export const SIGNALING = ['signaling-node', 'signaling-deno'];

/** Where the CA of the NATS servers' certificate is in the clients' containers. */
const NATS_CA = '/etc/parley/nats-ca.pem';

/**
 * What a user may change about the services (the rest is the deployment's shape), from the environment of
 * `npm run stack -- up`: the media-workers' consumer budget (what placement and the autoscalers measure load
 * against) and signaling's connection caps.
 */
export const PASSED_THROUGH = {
  media: ['MEDIA_MAX_CONSUMERS_PER_WORKER'],
  signaling: ['MAX_CONNECTIONS_PER_IP', 'MAX_CONNECTIONS_PER_IDENTITY'],
} as const;

export function stackServices(settings: Record<string, string | undefined> = {}): Service[] {
  const natsTls = NATS_NODES.map((n) => `tls://${n}:4222`).join(',');
  const natsWss = NATS_NODES.map((n) => `wss://${n}:8080`).join(',');
  const passed = (names: readonly string[]) =>
    Object.fromEntries(names.flatMap((n) => (settings[n] ? [[n, settings[n]!] as const] : [])));
  // A deployment: no development tokens (anyone could mint any token); users get invitations from
  // `npm run stack -- token`, signed with the stack's secret. Caddy in front adds X-Forwarded-For, so per-address
  // caps count browsers, not the proxy.
  const signalingEnv = {
    PORT: '3000',
    DRAIN_TIMEOUT_MS: '20000',
    TRUST_PROXY: '1',
    NATS_USER: NATS_USERS.signaling,
    NATS_TLS_CA: NATS_CA,
    ...passed(PASSED_THROUGH.signaling),
  };
  const signalingSecrets: Service['secrets'] = { PARLEY_SECRET: 'parley', NATS_PASSWORD: 'natsSignaling' };
  return [
    ...NATS_NODES.map(
      (name): Service => ({
        name,
        image: 'nats',
        group: 0,
        env: { NATS_SERVER_NAME: name },
        command: ['-c', '/etc/nats/nats.conf'],
        files: { 'infra/compose/nats.conf': '/etc/nats/nats.conf', 'infra/nats/permissions.conf': '/etc/nats/permissions.conf' },
        generated: { natsTls: '/etc/nats/tls' },
        secrets: { PARLEY_SIGNALING_NATS_PASSWORD: 'natsSignaling', PARLEY_MEDIA_WORKER_NATS_PASSWORD: 'natsMediaWorker' },
        tmpfs: ['/data:rw,mode=1777,size=512m'],
        stopTimeout: 10,
        ready: { port: 8222, path: '/healthz' },
      }),
    ),
    ...MEDIA_WORKERS.map(
      (name): Service => ({
        name,
        image: 'mediaWorker',
        group: 1,
        env: {
          NATS_URL: natsTls,
          NATS_USER: NATS_USERS.mediaWorker,
          NATS_TLS_CA: NATS_CA,
          MEDIA_INSTANCE_ID: name,
          // One mediasoup Worker per container: the stack runs on a 2-core machine.
          MEDIA_WORKERS: '1',
          MEDIA_MAX_CONSUMERS_PER_WORKER: '500',
          DRAIN_TIMEOUT_MS: '20000',
          ...passed(PASSED_THROUGH.media),
          // MEDIA_ANNOUNCED_ADDRESS: the container's own address, set when it starts.
        },
        generated: { natsCa: NATS_CA },
        secrets: { NATS_PASSWORD: 'natsMediaWorker' },
        stopTimeout: 25,
        ready: { port: 9464, path: '/readyz' },
      }),
    ),
    {
      name: 'signaling-node',
      image: 'signalingNode',
      group: 2,
      env: { ...signalingEnv, NATS_URL: natsTls, SIGNALING_INSTANCE_ID: 'signaling-node' },
      generated: { natsCa: NATS_CA },
      secrets: signalingSecrets,
      stopTimeout: 25,
      ready: { port: 3000, path: '/readyz' },
    },
    {
      name: 'signaling-deno',
      image: 'signalingDeno',
      group: 2,
      // Deno reaches NATS over its WebSocket listener, as it would from an edge runtime; its WebSocket trusts a
      // private CA only through DENO_CERT.
      env: { ...signalingEnv, NATS_URL: natsWss, DENO_CERT: NATS_CA, SIGNALING_INSTANCE_ID: 'signaling-deno' },
      generated: { natsCa: NATS_CA },
      secrets: signalingSecrets,
      stopTimeout: 25,
      ready: { port: 3000, path: '/readyz' },
    },
    { name: 'web', image: 'web', group: 2, stopTimeout: 10, ready: { port: 8080, path: '/healthz' } },
    {
      name: 'proxy',
      image: 'caddy',
      group: 3,
      files: { 'infra/compose/Caddyfile': '/etc/caddy/Caddyfile' },
      tmpfs: ['/data:rw,mode=1777', '/config:rw,mode=1777'],
      publish: 8080,
      stopTimeout: 10,
      ready: { port: 8080, path: '/readyz' },
    },
    {
      name: 'prometheus',
      image: 'prometheus',
      group: 3,
      command: [
        '--config.file=/etc/prometheus/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        '--storage.tsdb.retention.time=1d',
      ],
      files: {
        'infra/compose/prometheus.yml': '/etc/prometheus/prometheus.yml',
        'infra/compose/prometheus-rules.yml': '/etc/prometheus/rules.yml',
      },
      // Data in the container's own layer (/prometheus belongs to its user): gone with the container.
      publish: 9090,
      stopTimeout: 10,
      ready: { port: 9090, path: '/-/ready' },
    },
  ];
}
