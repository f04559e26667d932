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
 *
 * coturn relays for browsers that cannot reach the media-workers directly (`?ice=relay` forces it): signaling
 * hands out credentials under the secret they share (TURN REST), and coturn relays to the media-workers only.
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
  /** Secrets as files readable by the container's user only: file name in /run/secrets → secret. */
  secretFiles?: Record<string, StackSecret>;
  /** What the service is told of the addresses on the stack's network, known once the network exists. */
  fromAddresses?: (addresses: Record<string, string>) => { env?: Record<string, string>; command?: string[] };
  tmpfs?: string[];
  /** Published on 127.0.0.1: the container port. */
  publish?: number;
  /** Seconds `podman stop` waits after SIGTERM: at least the drain. */
  stopTimeout: number;
  /** Ready when `path` answers 200 at the container's address (from this machine); without a path, when the port
   * accepts a TCP connection. */
  ready: { port: number; path?: string };
}

/**
 * The stack's secrets: the token secret, one NATS password per role, and the TURN secret twice (as signaling
 * reads it, and as the line of coturn's configuration that holds it: coturn reads no secret from its environment).
 */
export type StackSecret = 'parley' | 'natsSignaling' | 'natsMediaWorker' | 'turn' | 'turnConfig';

export const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'];
export const MEDIA_WORKERS = ['media-worker-1', 'media-worker-2'];
export const SIGNALING = ['signaling-node', 'signaling-deno'];
export const COTURN = 'coturn';
export const TURN_PORT = 3478;
/** coturn's relay ports, one per allocation (each browser's transport takes one). */
export const TURN_RELAY_PORTS = { min: 49152, max: 49999 } as const;

/**
 * coturn's configuration file holding the secret it shares with signaling: coturn reads no secret from its
 * environment, and one on its command line would show in every process list.
 */
export const turnSecretConfig = (secret: string) => `static-auth-secret=${secret}\n`;

/** What signaling hands out: coturn's address on the stack's network, over UDP and TCP. */
export const turnUrls = (address: string) => (['udp', 'tcp'] as const).map((t) => `turn:${address}:${TURN_PORT}?transport=${t}`);

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
  const signalingSecrets: Service['secrets'] = {
    PARLEY_SECRET: 'parley',
    NATS_PASSWORD: 'natsSignaling',
    TURN_SECRET: 'turn',
  };
  const signalingTurn: Service['fromAddresses'] = (addresses) => ({
    env: { TURN_URLS: turnUrls(addresses[COTURN]!).join(',') },
  });
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
        },
        fromAddresses: (addresses) => ({ env: { MEDIA_ANNOUNCED_ADDRESS: addresses[name]! } }),
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
      fromAddresses: signalingTurn,
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
      fromAddresses: signalingTurn,
      stopTimeout: 25,
      ready: { port: 3000, path: '/readyz' },
    },
    {
      name: COTURN,
      image: 'coturn',
      group: 1,
      // The secret (static-auth-secret) comes in a configuration file; the rest is on the command line.
      secretFiles: { 'turn-config': 'turnConfig' },
      fromAddresses: (addresses) => ({ command: coturnCommand(addresses) }),
      tmpfs: ['/var/lib/coturn:rw,mode=1777,size=16m'],
      stopTimeout: 10,
      ready: { port: TURN_PORT },
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

/**
 * coturn as the stack runs it: TURN over UDP and TCP on its own address (browsers on this machine reach it there, as
 * they reach the media-workers), credentials under the secret it shares with signaling (TURN REST), no TLS (the
 * media inside is DTLS-SRTP end to end to the media-worker). It relays to the media-workers and nowhere else: not to
 * the other services, not to itself, not to this machine or the internet.
 */
function coturnCommand(addresses: Record<string, string>): string[] {
  const own = addresses[COTURN]!;
  return [
    '-c',
    '/run/secrets/turn-config',
    `--listening-ip=${own}`,
    `--relay-ip=${own}`,
    `--listening-port=${TURN_PORT}`,
    `--min-port=${TURN_RELAY_PORTS.min}`,
    `--max-port=${TURN_RELAY_PORTS.max}`,
    '--use-auth-secret',
    '--realm=parley',
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-multicast-peers',
    // allowed-peer-ip wins over denied-peer-ip: everything is denied but the media-workers.
    '--denied-peer-ip=0.0.0.0-255.255.255.255',
    '--denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ...MEDIA_WORKERS.map((w) => `--allowed-peer-ip=${addresses[w]!}`),
    '--log-file=stdout',
    '--simple-log',
    '--pidfile=/var/lib/coturn/turnserver.pid',
    '--userdb=/var/lib/coturn/turndb',
  ];
}
