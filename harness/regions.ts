import { startDistributed } from './cluster.ts';
import type { Cluster } from './cluster.ts';
import { startNats } from './nats.ts';
import type { NatsServer } from './nats.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface Regions {
  /** Each region's own deployment (nats-server, media-worker, signaling), by region name. */
  byName: Record<string, Cluster & { nats: NatsServer }>;
  stop(): Promise<void>;
}

/**
 * Regions as a deployment runs them (docs/deploy.md): each region its own NATS cluster (here a cluster of one
 * server), the clusters joined by gateways into one supercluster with one JetStream, and in each region a
 * media-worker and a signaling instance with PARLEY_REGION set. The first region is the gateway others dial;
 * they find each other through it.
 */
export async function startRegions(names: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<Regions> {
  const servers: NatsServer[] = [];
  const byName: Regions['byName'] = {};
  const stop = async () => {
    await Promise.all(Object.values(byName).map((c) => c.stop()));
    await Promise.all(servers.filter((s) => !Object.values(byName).some((c) => c.nats === s)).map((s) => s.stop()));
  };
  try {
    let seed: string | undefined;
    for (const name of names) {
      const [clusterPort, gatewayPort] = [await freePort(), await freePort()];
      const remote = seed ? `, gateways: [{ name: "${names[0]}", url: "nats://127.0.0.1:${seed}" }]` : '';
      servers.push(
        await startNats({
          config: [
            `server_name: "nats-${name}"`,
            // JetStream in a supercluster wants a cluster with routes; a route to itself makes a cluster of one.
            `cluster { name: "${name}", listen: "127.0.0.1:${clusterPort}", routes: ["nats://127.0.0.1:${clusterPort}"] }`,
            `gateway { name: "${name}", listen: "127.0.0.1:${gatewayPort}"${remote} }`,
          ].join('\n'),
        }),
      );
      seed ??= String(gatewayPort);
    }
    // One JetStream over every region: the KV buckets are usable once it has elected its leader.
    await waitFor(
      'the supercluster’s JetStream leader',
      () => servers.some((s) => /new metadata leader/.test(s.output())),
      20_000,
    );
    for (const [i, name] of names.entries()) {
      const nats = servers[i]!;
      const cluster = await startDistributed({ nats, env: { ...options.env, PARLEY_REGION: name } });
      byName[name] = { ...cluster, nats };
    }
    return { byName, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
