import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureImages, formatDuration } from './images.ts';
import type { StackImages } from './images.ts';
import { createNatsSecurity } from './nats-security.ts';
import { exists, podman, repoRoot } from './podman.ts';
import { NATS_NODES, PASSED_THROUGH, stackServices, turnSecretConfig } from './services.ts';
import type { Service, StackSecret } from './services.ts';

/**
 * One stack on this machine: containers, a network and podman secrets, all labelled `parley.stack=<name>` or
 * named `<name>-…`, plus a state directory (mode 700) with the generated PARLEY_SECRET (for `token`) and the NATS
 * servers' TLS files.
 */
export interface StackOptions {
  /** Names the containers, network and secrets; several stacks can run side by side. */
  name: string;
  /** Host ports on 127.0.0.1 for the proxy and Prometheus; 0 = any free port. */
  httpPort: number;
  prometheusPort: number;
  /** The settings `services.ts` passes through from the environment (PASSED_THROUGH). */
  settings: Record<string, string | undefined>;
}

export interface StackState {
  name: string;
  secret: string;
  url: string;
  prometheusUrl: string;
  /** Each service's address on the stack's network (this machine reaches them directly). */
  addresses: Record<string, string>;
  /** The CA that signed the NATS servers' certificate (for clients of the stack's NATS). */
  natsCaFile: string;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`${name} must be a port number (0 = any free port), got "${raw}"`);
    return n;
  };
  const name = env.PARLEY_STACK_NAME || 'parley';
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`PARLEY_STACK_NAME must match [a-z][a-z0-9-]*, got "${name}"`);
  const passed = [...PASSED_THROUGH.media, ...PASSED_THROUGH.signaling];
  return {
    name,
    httpPort: port('PARLEY_STACK_PORT', 8080),
    prometheusPort: port('PARLEY_STACK_PROMETHEUS_PORT', 9090),
    settings: Object.fromEntries(passed.map((n) => [n, env[n]])),
  };
}

const label = (name: string) => `parley.stack=${name}`;
const containerName = (stack: string, service: string) => `${stack}-${service}`;
const SECRETS: StackSecret[] = ['parley', 'natsSignaling', 'natsMediaWorker', 'turn', 'turnConfig'];
const secretName = (stack: string, secret: StackSecret) => `${stack}-${secret.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const stateDir = (stack: string) =>
  path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'parley', 'stacks', stack);
const stateFile = (stack: string) => path.join(stateDir(stack), 'state.json');

export function readState(stack: string): StackState | undefined {
  const file = stateFile(stack);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as StackState) : undefined;
}

/** Containers of this stack (any state). */
async function stackContainers(stack: string): Promise<string[]> {
  const out = await podman(['ps', '-a', '--filter', `label=${label(stack)}`, '--format', '{{.Names}}']);
  return out.split('\n').filter(Boolean);
}

/**
 * Builds what is missing, starts every service in order (each group once the previous one is ready) and returns
 * the stack's state. A stack that is already up is left as it is.
 */
export async function up(options: StackOptions): Promise<StackState> {
  const existing = readState(options.name);
  if (existing && (await stackContainers(options.name)).length > 0) {
    console.log(`[stack] ${options.name} is already up (\`npm run stack -- down\` first to start it afresh)`);
    printAddress(existing);
    return existing;
  }
  await down(options.name, { quiet: true });
  const started = Date.now();
  const images = await ensureImages();
  const imagesMs = Date.now() - started;
  const services = stackServices(options.settings);

  // The stack's network, and one fixed address per service on it.
  const network = options.name;
  await podman(['network', 'create', '--label', label(options.name), network]);
  const subnet = JSON.parse(await podman(['network', 'inspect', network])) as [
    { subnets?: { subnet: string }[]; plugins?: { ipam?: { ranges?: { subnet: string }[][] } }[] },
  ];
  const cidr = subnet[0].subnets?.[0]?.subnet ?? subnet[0].plugins?.[0]?.ipam?.ranges?.[0]?.[0]?.subnet;
  if (!cidr || !/^\d+\.\d+\.\d+\.0\/24$/.test(cidr)) throw new Error(`unexpected subnet for network ${network}: ${cidr}`);
  const prefix = cidr.replace(/\.0\/24$/, '');
  const addresses = Object.fromEntries(services.map((s, i) => [s.name, `${prefix}.${10 + i}`]));

  // Secrets: the token secret, NATS's TLS files, one password per role and the TURN secret, all made here and now.
  const dir = stateDir(options.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const nats = createNatsSecurity(dir, NATS_NODES);
  const secret = crypto.randomBytes(32).toString('hex');
  const turnSecret = crypto.randomBytes(32).toString('hex');
  const values: Record<StackSecret, string> = {
    parley: secret,
    natsSignaling: nats.passwords.signaling,
    natsMediaWorker: nats.passwords.mediaWorker,
    turn: turnSecret,
    turnConfig: turnSecretConfig(turnSecret),
  };
  for (const s of SECRETS) await createSecret(options.name, s, values[s]);
  const state: StackState = { name: options.name, secret, url: '', prometheusUrl: '', addresses, natsCaFile: nats.caFile };
  writeState(state);
  const mounts = { natsTls: nats.tlsDir, natsCa: nats.caFile };

  const groups = [...new Set(services.map((s) => s.group))].sort();
  for (const group of groups) {
    const members = services.filter((s) => s.group === group);
    for (const service of members) await start(options, service, images, addresses, mounts);
    await Promise.all(members.map((s) => waitReady(options.name, s, addresses[s.name]!)));
  }
  state.url = `http://127.0.0.1:${await publishedPort(options.name, 'proxy', 8080)}`;
  state.prometheusUrl = `http://127.0.0.1:${await publishedPort(options.name, 'prometheus', 9090)}`;
  writeState(state);
  const total = Date.now() - started;
  console.log(
    `[stack] ${options.name} up in ${formatDuration(total)} (images ${formatDuration(imagesMs)}, containers ${formatDuration(total - imagesMs)})`,
  );
  printAddress(state);
  return state;
}

function printAddress(state: StackState): void {
  console.log(`[stack] Prometheus: ${state.prometheusUrl}`);
  console.log(`[stack] open ${state.url} with an invitation: npm run stack -- token --name <your name>`);
}

/** A podman secret from a file only we can read (podman reads `-` only from a real pipe). */
async function createSecret(stack: string, secret: StackSecret, value: string): Promise<void> {
  const file = path.join(stateDir(stack), `.secret-${secret}`);
  fs.writeFileSync(file, value, { mode: 0o600 });
  await podman(['secret', 'create', secretName(stack, secret), file]).finally(() => fs.rmSync(file, { force: true }));
}

async function start(
  options: StackOptions,
  service: Service,
  images: StackImages,
  addresses: Record<string, string>,
  generated: { natsTls: string; natsCa: string },
) {
  const args = [
    'run',
    '--detach',
    '--name',
    containerName(options.name, service.name),
    '--label',
    label(options.name),
    '--hostname',
    service.name,
    '--network',
    options.name,
    '--ip',
    addresses[service.name]!,
    '--restart',
    'unless-stopped',
    '--stop-timeout',
    String(service.stopTimeout),
  ];
  // The images' HEALTHCHECKs run on systemd timers; without systemd podman only complains. `status` probes instead.
  if (!fs.existsSync('/run/systemd/system')) args.push('--no-healthcheck');
  for (const [other, ip] of Object.entries(addresses)) if (other !== service.name) args.push('--add-host', `${other}:${ip}`);
  const told = service.fromAddresses?.(addresses) ?? {};
  const env = { ...service.env, ...told.env };
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  for (const [variable, secret] of Object.entries(service.secrets ?? {})) {
    args.push('--secret', `${secretName(options.name, secret)},type=env,target=${variable}`);
  }
  // Owned by the user the images run as (nobody), readable by it alone.
  for (const [file, secret] of Object.entries(service.secretFiles ?? {})) {
    args.push('--secret', `${secretName(options.name, secret)},type=mount,target=${file},uid=65534,gid=65534,mode=0400`);
  }
  for (const [source, target] of Object.entries(service.files ?? {})) {
    args.push('--volume', `${path.join(repoRoot, source)}:${target}:ro`);
  }
  for (const [kind, target] of Object.entries(service.generated ?? {})) {
    args.push('--volume', `${generated[kind as keyof typeof generated]}:${target}:ro`);
  }
  for (const t of service.tmpfs ?? []) args.push('--tmpfs', t);
  if (service.publish) {
    const host = service.name === 'proxy' ? options.httpPort : options.prometheusPort;
    args.push('--publish', `127.0.0.1:${host || ''}:${service.publish}`);
  }
  args.push(images[service.image], ...(service.command ?? []), ...(told.command ?? []));
  await podman(args);
}

/** Polls the service's readiness endpoint; on timeout, fails with the end of its log. */
async function waitReady(stack: string, service: Service, address: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = await probeReady(service, address);
    if (probe.ok) return;
    const [state = 'missing', restarts = '0'] = (
      await podman(['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', containerName(stack, service.name)]).catch(
        () => 'missing',
      )
    )
      .trim()
      .split(' ');
    // A process that exits at start is restarted (restart policy): once is enough to know it will not come up.
    if (Date.now() > deadline || state !== 'running' || restarts !== '0') {
      const logs = await podman(['logs', '--tail', '30', containerName(stack, service.name)], { combined: true }).catch(
        (e: Error) => e.message,
      );
      throw new Error(`${service.name} is not ready (${probe.detail}; container ${state}, ${restarts} restarts):\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function probeReady(service: Service, address: string): Promise<{ ok: boolean; detail: string }> {
  const { port, path } = service.ready;
  return path === undefined ? probeTcp(address, port) : probeHttp(`http://${address}:${port}${path}`);
}

function probeTcp(host: string, port: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ ok, detail });
    };
    socket.once('connect', () => done(true, 'TCP open'));
    socket.once('timeout', () => done(false, 'TCP timeout'));
    socket.once('error', (err) => done(false, err.message));
  });
}

async function probeHttp(url: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return { ok: res.ok, detail: `HTTP ${res.status}` };
  } catch (err) {
    return {
      ok: false,
      detail: (err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : (err as Error).message,
    };
  }
}

async function publishedPort(stack: string, service: string, port: number): Promise<number> {
  const out = await podman(['port', containerName(stack, service), `${port}/tcp`]);
  const m = /:(\d+)\s*$/m.exec(out.trim());
  if (!m) throw new Error(`${service}: no published port for ${port} (${out.trim()})`);
  return Number(m[1]);
}

function writeState(state: StackState): void {
  fs.writeFileSync(stateFile(state.name), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes every container, the network, the secrets and the state directory of the stack. */
export async function down(stack: string, { quiet = false } = {}): Promise<void> {
  const containers = await stackContainers(stack);
  if (containers.length) {
    // Stop, then remove: `rm --force` kills whatever outlives its --time, and a container that exits during that
    // kill makes podman fail the whole removal ("container state improper: stopped"). A stop that meets a
    // container already gone is fine: rm below removes it either way.
    await podman(['stop', '--time', '5', ...containers]).catch(() => undefined);
    await podman(['rm', '--force', ...containers]);
  }
  const networks = (await podman(['network', 'ls', '--filter', `label=${label(stack)}`, '--format', '{{.Name}}']))
    .split('\n')
    .filter(Boolean);
  for (const network of networks) await podman(['network', 'rm', network]);
  let secrets = 0;
  for (const s of SECRETS) {
    if (!(await exists('secret', secretName(stack, s)))) continue;
    await podman(['secret', 'rm', secretName(stack, s)]);
    secrets++;
  }
  fs.rmSync(stateDir(stack), { recursive: true, force: true });
  if (!quiet) {
    console.log(
      `[stack] ${stack} down: removed ${containers.length} containers, ${networks.length} network(s), ${secrets} secrets`,
    );
  }
}

export interface ServiceStatus {
  service: string;
  container: string;
  state: string;
  restarts: number;
  probe: string;
  healthy: boolean;
}

/** Each service's container state and readiness probe. */
export async function status(stack: string): Promise<ServiceStatus[]> {
  const state = readState(stack);
  const rows: ServiceStatus[] = [];
  for (const service of stackServices()) {
    const container = containerName(stack, service.name);
    const inspect = await podman(['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', container]).catch(
      () => 'missing 0',
    );
    const [containerState = 'missing', restarts = '0'] = inspect.trim().split(' ');
    const address = state?.addresses[service.name];
    const probe = containerState === 'running' && address ? await probeReady(service, address) : { ok: false, detail: '-' };
    rows.push({
      service: service.name,
      container,
      state: containerState,
      restarts: Number(restarts),
      probe: `${service.ready.path ?? `:${service.ready.port}`} ${probe.detail}`,
      healthy: containerState === 'running' && probe.ok,
    });
  }
  return rows;
}
