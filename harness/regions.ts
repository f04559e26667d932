import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NATS_INBOX_PREFIX } from '../bus/nats-options.ts';
import { PERMISSIONS_CONF, regionalPermissions } from '../scripts/nats-permissions.ts';
import { startDistributed } from './cluster.ts';
import type { Cluster } from './cluster.ts';
import { makeNkeyUser, rolesConfig } from './nats-auth.ts';
import { startNats } from './nats.ts';
import type { NatsServer } from './nats.ts';
import { FREE_PORTS, freePort } from './ports.ts';
import { startRegionLink } from './region-link.ts';
import type { LinkFace, RegionLink } from './region-link.ts';
import { waitFor } from './wait.ts';

export interface Regions {
  /** Each region's own deployment (nats-server, media-worker, signaling), by region name. */
  byName: Record<string, Cluster & { nats: NatsServer; face: LinkFace; mediaMetrics: string }>;
  /** Everything between regions (NATS gateways and media pipes) goes through it: delay it, cut it. */
  link: RegionLink;
  /** Connection options with the signaling role's NATS credential (it reads every bucket a test looks at). */
  natsUser: { user: string; pass: string; inboxPrefix: string };
  stop(): Promise<void>;
}

/** Pipe ports per region: enough for the PipeTransports and WebRtcServer of a test's rooms. */
const PORTS_PER_REGION = 40;

/**
 * Regions as a deployment runs them (docs/deploy.md): each region its own NATS cluster (here a cluster of one
 * server), the clusters joined by gateways into one supercluster with one JetStream, and in each region a
 * media-worker and a signaling instance with PARLEY_REGION set. Each region has an address of its own on the
 * link (127.0.0.2, 127.0.0.3, …) that its gateway and its media pipes are reached on, so every byte between
 * regions crosses the link, `delayMs` late each way. The first region is the gateway others dial; they find
 * each other through it. Each process connects with its role's credential, under the permissions an operator
 * generates for these regions (scripts/nats-permissions.ts).
 */
export async function startRegions(
  names: string[],
  options: { delayMs?: number; webRoot?: boolean; clientsNear?: string } = {},
): Promise<Regions> {
  const faces = await regionFaces(names.length);
  const link = await startRegionLink(faces, options.delayMs);
  const servers: NatsServer[] = [];
  const byName: Regions['byName'] = {};
  const roles = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-roles-'));
  const stop = async () => {
    await Promise.all(Object.values(byName).map((c) => c.stop()));
    await Promise.all(servers.filter((s) => !Object.values(byName).some((c) => c.nats === s)).map((s) => s.stop()));
    await link.stop();
    fs.rmSync(roles, { recursive: true, force: true });
  };
  const natsUser = {
    user: 'parley-signaling',
    pass: `pw-${Math.random().toString(36).slice(2)}`,
    inboxPrefix: NATS_INBOX_PREFIX.signaling,
  };
  const media = makeNkeyUser(roles, 'media-worker');
  const permissions = path.join(roles, 'permissions.conf');
  fs.writeFileSync(permissions, regionalPermissions(fs.readFileSync(PERMISSIONS_CONF, 'utf8'), names));
  try {
    const auth = {
      includes: [permissions],
      config: rolesConfig({ signalingPassword: natsUser.pass, mediaWorkerNkey: media.publicKey }),
    };
    servers.push(...(await startSupercluster(names, faces, auth)));
    // The test's clients sit in one region (the first unless told): its endpoint is near, the others across the link.
    const near = options.clientsNear ?? names[0];
    const regionUrls = names.map(
      (name, i) => `${name}=http://${name === near ? '127.0.0.1' : faces[i]!.address}:${faces[i]!.signalingPort}`,
    );
    for (const [i, name] of names.entries()) {
      const [nats, face, metricsPort] = [servers[i]!, faces[i]!, await freePort()];
      const env = {
        PARLEY_REGION: name,
        MEDIA_METRICS_PORT: String(metricsPort),
        // Bound to 127.0.0.1 only: the link mirrors the same ports on the region's own address.
        MEDIA_LISTEN_IP: '127.0.0.1',
        MEDIA_PIPE_LISTEN_IP: '127.0.0.1',
        MEDIA_PIPE_ANNOUNCED_ADDRESS: face.address,
        MEDIA_RTC_MIN_PORT: String(face.ports.min),
        MEDIA_RTC_MAX_PORT: String(face.ports.max),
      };
      const signalingEnv = {
        HOST: '127.0.0.1',
        PORT: String(face.signalingPort),
        PARLEY_REGION_URLS: regionUrls.join(','),
        NATS_USER: natsUser.user,
        NATS_PASSWORD: natsUser.pass,
      };
      const mediaWorkerEnv = { NATS_NKEY_SEED: media.seedFile };
      const cluster = await startDistributed({ nats, env, signalingEnv, mediaWorkerEnv, webRoot: options.webRoot });
      byName[name] = { ...cluster, nats, face, mediaMetrics: `http://127.0.0.1:${metricsPort}` };
    }
    return { byName, link, natsUser, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Each region's face on the link: an address of its own, a range of pipe ports, a gateway and a signaling port. */
export async function regionFaces(count: number): Promise<LinkFace[]> {
  // Between freePort()'s ports and the kernel's ephemeral range (32768 and up), where client sockets' ports come from.
  const base = FREE_PORTS.max + Math.floor(Math.random() * 12_000);
  const faces: LinkFace[] = [];
  for (let i = 0; i < count; i++) {
    const min = base + i * PORTS_PER_REGION;
    const [gatewayPort, signalingPort] = [await freePort(), await freePort()];
    faces.push({ address: `127.0.0.${i + 2}`, ports: { min, max: min + PORTS_PER_REGION - 1 }, gatewayPort, signalingPort });
  }
  return faces;
}

/**
 * A NATS server per region, each a cluster of one, joined by gateways into one supercluster with one JetStream;
 * each region's gateway is reached on its face's address (through the link). Resolves once JetStream has a leader.
 * `auth`: client authorization (configuration and the files it includes), the same in every region.
 */
export async function startSupercluster(
  names: string[],
  faces: LinkFace[],
  auth: { config: string; includes: string[] } = { config: '', includes: [] },
): Promise<NatsServer[]> {
  const servers: NatsServer[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const face = faces[i]!;
      const clusterPort = await freePort();
      const seed =
        i > 0 ? `, gateways: [{ name: "${names[0]}", url: "nats://${faces[0]!.address}:${faces[0]!.gatewayPort}" }]` : '';
      servers.push(
        await startNats({
          config: [
            `server_name: "nats-${name}"`,
            // JetStream in a supercluster wants a cluster with routes; a route to itself makes a cluster of one.
            `cluster { name: "${name}", listen: "127.0.0.1:${clusterPort}", routes: ["nats://127.0.0.1:${clusterPort}"] }`,
            // Other regions dial the link's address for this region, never the gateway itself.
            `gateway { name: "${name}", listen: "127.0.0.1:${face.gatewayPort}", advertise: "${face.address}:${face.gatewayPort}"${seed} }`,
            auth.config,
          ].join('\n'),
          includes: auth.includes,
          // Logs every permission violation, for a test to check the roles allow all that regions do.
          debug: auth.config !== '',
        }),
      );
    }
    await waitFor(
      'the supercluster’s JetStream leader',
      () => servers.some((s) => /new metadata leader/.test(s.output())),
      20_000,
    );
    return servers;
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
}
