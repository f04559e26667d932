import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ANY_ROOM } from '../protocol/auth.ts';
import { issueToken } from '../signaling/auth.ts';
import { ensureImages } from './stack/images.ts';
import { createNatsSecurity } from './stack/nats-security.ts';
import { PodmanError } from './stack/podman.ts';
import { NATS_NODES, turnSecretConfig } from './stack/services.ts';
import { down, optionsFromEnv, readState, status, up } from './stack/stack.ts';

/**
 * `npm run stack -- up|down|status|build|token`: Parley's distributed deployment in containers on this machine
 * (podman; images built here, no registry needed). docs/deploy.md, "One machine".
 *
 *   up      build what is missing, start NATS ×3, media-worker ×2, coturn, signaling (Node + Deno), web, Caddy,
 *           Prometheus
 *   down    remove every container, the network and the secret
 *   status  each service's container state and readiness
 *   build   only build the images
 *   token   --name Ada [--room lounge] [--admin]: a page address with an access token for this stack
 *   secrets <dir> [host...]: PARLEY_SECRET, the NATS passwords and TURN_SECRET (secrets.env), coturn's file with
 *           that secret (turn.conf) and NATS's TLS files (nats-tls/, a certificate for the hosts, default
 *           nats-1..3) for Docker Compose or Kubernetes (docs/deploy.md)
 *
 * PARLEY_STACK_NAME (parley), PARLEY_STACK_PORT (8080) and PARLEY_STACK_PROMETHEUS_PORT (9090; 0 = any free port).
 */
/** The file of `secrets` that Compose hands coturn as its secret `turn-config` (infra/compose/compose.yaml). */
const TURN_CONFIG_FILE = 'turn.conf';
/** The uid coturn runs as in Compose (`user: 65534:65534`, the images' nobody). */
const COTURN_UID = 65534;

const [command = 'status', ...rest] = process.argv.slice(2);
const options = optionsFromEnv();

try {
  switch (command) {
    case 'up':
      await up(options);
      break;
    case 'down':
      await down(options.name);
      break;
    case 'build':
      await ensureImages();
      break;
    case 'status':
      process.exitCode = await printStatus();
      break;
    case 'token':
      await printToken(rest);
      break;
    case 'secrets':
      writeSecrets(rest);
      break;
    default:
      fail(`unknown command "${command}": up, down, status, build, token or secrets`);
  }
} catch (err) {
  fail(err instanceof PodmanError ? err.message : (err as Error).message);
}

async function printStatus(): Promise<number> {
  const rows = await status(options.name);
  const state = readState(options.name);
  const width = (k: keyof (typeof rows)[number]) => Math.max(...rows.map((r) => String(r[k]).length), k.length);
  const cols = ['service', 'state', 'restarts', 'probe'] as const;
  console.log(cols.map((c) => c.padEnd(width(c))).join('  '));
  for (const row of rows) console.log(cols.map((c) => String(row[c]).padEnd(width(c))).join('  '));
  const healthy = rows.filter((r) => r.healthy).length;
  console.log(`${healthy}/${rows.length} healthy${state?.url ? `; ${state.url}` : ''}`);
  return healthy === rows.length ? 0 : 1;
}

async function printToken(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      room: { type: 'string', default: ANY_ROOM },
      admin: { type: 'boolean', default: false },
    },
  });
  const state = readState(options.name);
  if (!state) fail(`stack ${options.name} is not up`);
  if (!values.name) fail('--name is required');
  const identity = `${values.name.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}-${crypto.randomUUID().slice(0, 6)}`;
  const token = await issueToken(state.secret, { identity, name: values.name, room: values.room, admin: values.admin });
  console.log(values.admin ? token : `${state.url}/?token=${token}`);
}

function writeSecrets([dir, ...hosts]: string[]): void {
  if (!dir) fail('usage: secrets <dir> [host...]');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const nats = createNatsSecurity(dir, hosts.length ? hosts : NATS_NODES);
  const turnSecret = crypto.randomBytes(32).toString('hex');
  const env = [
    `PARLEY_SECRET=${crypto.randomBytes(32).toString('hex')}`,
    `PARLEY_SIGNALING_NATS_PASSWORD=${nats.passwords.signaling}`,
    `PARLEY_MEDIA_WORKER_NATS_PASSWORD=${nats.passwords.mediaWorker}`,
    `TURN_SECRET=${turnSecret}`,
  ];
  fs.writeFileSync(path.join(dir, 'secrets.env'), `${env.join('\n')}\n`, { mode: 0o600 });
  writeTurnConfig(path.join(dir, TURN_CONFIG_FILE), turnSecret);
  console.log(
    `[stack] wrote ${path.join(dir, 'secrets.env')}, ${path.join(dir, TURN_CONFIG_FILE)} and ${nats.tlsDir}/ (ca.pem, server.pem, server.key)`,
  );
}

/**
 * coturn's secret as Compose mounts it (a bind mount: Compose without Swarm applies no uid or mode of its own):
 * readable by coturn's user and nobody else when this runs as root, as rootful Docker and podman map that uid
 * 1:1; otherwise readable by all, inside a directory only its owner can enter.
 */
function writeTurnConfig(file: string, secret: string): void {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, turnSecretConfig(secret), { mode: 0o600 });
  if (process.getuid?.() === 0) {
    fs.chownSync(file, COTURN_UID, COTURN_UID);
    fs.chmodSync(file, 0o400);
  } else {
    fs.chmodSync(file, 0o444);
  }
}

function fail(message: string): never {
  console.error(`[stack] ${message}`);
  process.exit(1);
}
