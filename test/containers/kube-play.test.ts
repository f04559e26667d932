import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { readUclient, turnAllocate, uclientArgs, udpEcho } from '../../harness/coturn.ts';
import { wsUrl } from '../../harness/cluster.ts';
import { waitUntil } from '../../harness/media-checks.ts';
import { hostAddress } from '../../harness/ports.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { DebugRoomsResponse } from '../../protocol/http.ts';
import { ensureImages } from '../../scripts/stack/images.ts';
import { createNatsSecurity } from '../../scripts/stack/nats-security.ts';
import type { StackImages } from '../../scripts/stack/images.ts';
import { podman, repoRoot } from '../../scripts/stack/podman.ts';
import { issueToken } from '../../signaling/auth.ts';
import { turnCredential } from '../../signaling/turn.ts';

/**
 * The Kubernetes manifests run by a real runtime: `podman kube play` starts the signaling, web and coturn
 * Deployments and the media-worker StatefulSet's pod template with their images, commands, environment (values, field
 * references, the Secrets and the NATS CA ConfigMap), security contexts and hostNetwork, against a NATS of the
 * test's own (in a cluster, the NATS Helm chart provides it) with the shipped nats.conf's TLS and users: each
 * tier connects over TLS with its role's password, as the manifests say. Then every probe the manifests declare is asked as the kubelet would,
 * signaling proves it holds the Secret (an admin token signed with it opens /debug/api), and the media-worker's
 * preStop hook drains it and ends the container. coturn takes its secret from the Secret signaling reads and its
 * peers from the ConfigMap: a member's credential, as signaling hands it out, gets an allocation and a relay to the
 * media node's address; a wrong secret gets 401, the cluster's network and loopback 403.
 *
 * What podman 4.3 does not do is done here, visibly: it runs no StatefulSet (its pod template runs as a
 * Deployment's), no `status.hostIP` field reference (it is given this machine's own address, as the kubelet would), no cluster DNS (a
 * hostAlias sends nats.parley.svc.cluster.local to the test's NATS), no Secret object (the Secret is created as
 * the podman secret kube play reads, as docs/deploy.md's `kubectl create secret` would), no scheduling (one
 * machine is one node, so one media-worker: its anti-affinity allows one per node), no readiness or startup
 * probes, and no CPU limit above this machine's cores (the media-worker's is 4; MEDIA_WORKERS follows it); it
 * would publish every containerPort on this machine, so the copy lists none. Image names are pointed at the images
 * built here, as `kustomize edit set image` would.
 */
const manifests = path.join(repoRoot, 'infra/k8s/manifests');
const name = `kube-test-${process.pid}`;
const label = `parley.kube-test=${name}`;
/** The NATS Service's name in the cluster (the Helm chart's), which the manifests connect to. */
const NATS_HOST = 'nats.parley.svc.cluster.local';

interface Workload {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { replicas?: number; template: { metadata?: Record<string, unknown>; spec: IPodSpec } };
}
const workload = (file: string, kind: string): Workload => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(manifests, file), 'utf8')).map((d) => d.toJS() as Workload);
  const found = docs.find((d) => d.kind === kind);
  if (!found) throw new Error(`no ${kind} in ${file}`);
  return found;
};

describe('the Kubernetes manifests under podman kube play', () => {
  let images: StackImages;
  let natsIp: string;
  let dir: string;
  const parleySecret = crypto.randomBytes(32).toString('hex');
  const turnSecret = crypto.randomBytes(32).toString('hex');
  /** The node's address (status.hostIP): where the media-worker and coturn are, on the host's network. */
  const nodeIp = hostAddress();
  const turnUrls = [`turn:${nodeIp}:3478?transport=udp`, `turn:${nodeIp}:3478?transport=tcp`];
  /** kube play reads one ConfigMap per file: the files, comma-separated, as `--configmap` takes them. */
  const configMaps = () => ['parley-nats-ca', 'parley-turn'].map((n) => path.join(dir, `${n}.yaml`)).join(',');
  const played: string[] = [];

  const signaling = workload('signaling.yaml', 'Deployment');
  const web = workload('web.yaml', 'Deployment');
  const media = workload('media-worker.yaml', 'StatefulSet');
  const coturn = workload('coturn.yaml', 'Deployment');

  /**
   * The named volumes kube play makes for the pods' volumes: a ConfigMap's under its name, an emptyDir's under the
   * volume's. podman 4.3's `kube down` leaves the ConfigMap ones, and one that outlives a reboot deadlocks the next
   * kube play: its lock is not allocated again after the reboot ("freeing lock for volume …: no such file or
   * directory" on removal), so a new pod gets the same lock and play waits on itself. Removed before and after.
   */
  const removeVolumes = async () => {
    const pods = [signaling, web, media, coturn].map((w) => w.spec.template.spec);
    const names = new Set(pods.flatMap((pod) => (pod.volumes ?? []).map((v) => v.configMap?.name ?? v.name)));
    for (const volume of names) await podman(['volume', 'rm', '--force', volume]).catch(() => undefined);
  };

  beforeAll(async () => {
    await removeVolumes();
    images = await ensureImages();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-kube-'));
    await podman(['network', 'create', '--label', label, name]);
    const subnet = (await podman(['network', 'inspect', '--format', '{{range .Subnets}}{{.Subnet}}{{end}}', name])).trim();
    natsIp = subnet.replace(/\.0\/24$/, '.10');
    // NATS, as the Helm chart would provide it: the shipped nats.conf without its cluster block (one server here),
    // with its TLS (a certificate for the Service name and the address the host-network pod uses) and its users.
    const nats = createNatsSecurity(dir, [NATS_HOST, natsIp]);
    const conf = fs.readFileSync(path.join(repoRoot, 'infra/compose/nats.conf'), 'utf8').replace(/^cluster \{[\s\S]*?^\}\n/m, '');
    expect(conf).not.toMatch(/^cluster/m);
    fs.writeFileSync(path.join(dir, 'nats.conf'), conf);
    await podman([
      'run',
      '--detach',
      '--no-healthcheck',
      '--name',
      `${name}-nats`,
      '--label',
      label,
      '--network',
      name,
      '--ip',
      natsIp,
      '--tmpfs',
      '/data:rw,mode=1777',
      '--volume',
      `${path.join(dir, 'nats.conf')}:/etc/nats/nats.conf:ro`,
      '--volume',
      `${path.join(repoRoot, 'infra/nats/permissions.conf')}:/etc/nats/permissions.conf:ro`,
      '--volume',
      `${nats.tlsDir}:/etc/nats/tls:ro`,
      '--env',
      'NATS_SERVER_NAME=nats-0',
      '--env',
      `PARLEY_SIGNALING_NATS_PASSWORD=${nats.passwords.signaling}`,
      '--env',
      `PARLEY_MEDIA_WORKER_NATS_PASSWORD=${nats.passwords.mediaWorker}`,
      images.nats,
      '-c',
      '/etc/nats/nats.conf',
    ]);
    // docs/deploy.md step 1, in the forms podman's kube play reads: a secretKeyRef from a podman secret holding a
    // JSON map of base64 values, a configMap volume from a ConfigMap file given to kube play.
    const secret = async (secretName: string, data: Record<string, string>) => {
      const file = path.join(dir, `${secretName}.json`);
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      fs.writeFileSync(file, JSON.stringify(encoded), { mode: 0o600 });
      // The manifests name them; one an earlier run left behind is replaced.
      await podman(['secret', 'rm', secretName]).catch(() => undefined);
      await podman(['secret', 'create', secretName, file]);
    };
    await secret('parley', { PARLEY_SECRET: parleySecret, TURN_SECRET: turnSecret, TURN_URLS: turnUrls.join(',') });
    await secret('parley-nats', {
      NATS_SIGNALING_PASSWORD: nats.passwords.signaling,
      NATS_MEDIA_WORKER_PASSWORD: nats.passwords.mediaWorker,
    });
    const configMap = (configName: string, data: Record<string, string>) =>
      stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: configName, namespace: 'parley' }, data });
    fs.writeFileSync(
      path.join(dir, 'parley-nats-ca.yaml'),
      configMap('parley-nats-ca', { 'ca.crt': fs.readFileSync(nats.caFile, 'utf8') }),
    );
    // The media nodes' addresses: this one node's.
    fs.writeFileSync(path.join(dir, 'parley-turn.yaml'), configMap('parley-turn', { TURN_ALLOWED_PEERS: nodeIp }));
  }, 35 * 60_000);

  afterAll(async () => {
    for (const file of played) await podman(['kube', 'down', file]).catch(() => undefined);
    await removeVolumes();
    const containers = (await podman(['ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}}']))
      .split('\n')
      .filter(Boolean);
    if (containers.length) await podman(['rm', '--force', ...containers]);
    await podman(['network', 'rm', name]).catch(() => undefined);
    for (const secretName of ['parley', 'parley-nats']) await podman(['secret', 'rm', secretName]).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** What podman cannot do itself, done to a copy of a workload (see the top of this file). */
  function forPodman(w: Workload, image: string): Workload {
    const copy = structuredClone(w);
    const pod = copy.spec.template.spec;
    // On the host's network podman writes no host aliases: the NATS address goes into the URL instead.
    pod.hostAliases = [...(pod.hostAliases ?? []), { ip: natsIp, hostnames: [NATS_HOST] }];
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      c.image = image;
      // kube play publishes every containerPort on this machine (two replicas would collide); in Kubernetes they
      // only document the ports, and the probes here read them from the manifest itself.
      delete c.ports;
      for (const e of c.env ?? []) {
        if (pod.hostNetwork && e.value?.includes(NATS_HOST)) e.value = e.value.replaceAll(NATS_HOST, natsIp);
        if (e.valueFrom?.fieldRef?.fieldPath === 'status.hostIP') {
          e.value = nodeIp;
          delete e.valueFrom;
        }
        if (e.valueFrom?.resourceFieldRef?.resource === 'limits.cpu') {
          e.value = String(Math.min(Number(c.resources?.limits?.cpu ?? 1), os.availableParallelism()));
          delete e.valueFrom;
        }
      }
      if (c.resources?.limits?.cpu)
        c.resources.limits.cpu = String(Math.min(Number(c.resources.limits.cpu), os.availableParallelism()));
      if (c.resources?.requests?.cpu && Number(c.resources.requests.cpu) > os.availableParallelism()) {
        c.resources.requests.cpu = String(os.availableParallelism());
      }
    }
    // One machine is one node: the media-worker's anti-affinity (one per node, hostNetwork ports) allows one.
    if (w.kind === 'StatefulSet') copy.spec.replicas = 1;
    return { ...copy, kind: 'Deployment' };
  }

  async function play(w: Workload, image: string): Promise<void> {
    const file = path.join(dir, `${w.metadata.name}.yaml`);
    fs.writeFileSync(file, stringify(forPodman(w, image)));
    played.push(file);
    // A pod on the host's network stays there (a --network would put it on the test's network instead).
    const network = w.spec.template.spec.hostNetwork ? [] : ['--network', name];
    await podman(['kube', 'play', '--configmap', configMaps(), ...network, file], { combined: true });
  }

  /** The pods kube play made of a workload and their addresses (hostNetwork: this machine's loopback). */
  async function podsOf(w: Workload): Promise<{ pod: string; container: string; ip: string }[]> {
    const pods = (await podman(['pod', 'ps', '--format', '{{.Name}}', '--filter', `name=^${w.metadata.name}-pod-`]))
      .split('\n')
      .filter(Boolean)
      .sort();
    return Promise.all(
      pods.map(async (pod) => {
        const container = `${pod}-${w.spec.template.spec.containers[0]!.name}`;
        const infra = (await podman(['pod', 'inspect', '--format', '{{.InfraContainerID}}', pod])).trim();
        const ip = w.spec.template.spec.hostNetwork
          ? '127.0.0.1'
          : (await podman(['inspect', '--format', `{{(index .NetworkSettings.Networks "${name}").IPAddress}}`, infra])).trim();
        return { pod, container, ip };
      }),
    );
  }

  /**
   * The kubelet's view of a probe: httpGet, 200..399 from the pod's address on the named or numbered port;
   * tcpSocket, a connection accepted there.
   */
  async function probeOk(c: IContainer, probe: IProbe | undefined, ip: string): Promise<boolean> {
    if (probe?.tcpSocket) {
      const { port } = probe.tcpSocket;
      const number = typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
      return new Promise((resolve) => {
        const socket = net.connect({ host: ip, port: Number(number), timeout: 2000 });
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.once('connect', () => done(true));
        socket.once('timeout', () => done(false));
        socket.once('error', () => done(false));
      });
    }
    if (!probe?.httpGet) return true;
    const port =
      typeof probe.httpGet.port === 'number'
        ? probe.httpGet.port
        : c.ports?.find((p) => p.name === probe.httpGet!.port)?.containerPort;
    const res = await fetch(`http://${ip}:${port}${probe.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    return !!res && res.status >= 200 && res.status < 400;
  }

  it('kube play starts every Deployment and the StatefulSet’s pods, as the manifests’ users', async () => {
    await play(media, images.mediaWorker);
    await play(signaling, images.signalingNode);
    await play(web, images.web);
    await play(coturn, images.coturn);
    const expected = [
      [media, 1, '1000'],
      [coturn, 1, '65534'],
      [signaling, signaling.spec.replicas, '1000'],
      [web, web.spec.replicas, '101'],
    ] as const;
    for (const [w, replicas, uid] of expected) {
      const pods = await podsOf(w);
      expect(pods.length, `${w.metadata.name} pods`).toBe(replicas);
      for (const { container } of pods) {
        expect((await podman(['inspect', '--format', '{{.State.Status}}', container])).trim(), container).toBe('running');
        expect((await podman(['exec', container, 'id', '-u'])).trim(), `${container} runs as`).toBe(uid);
      }
    }
  });

  it('every probe the manifests declare answers as the kubelet expects', { timeout: 180_000 }, async () => {
    for (const w of [media, signaling, web, coturn]) {
      const c = w.spec.template.spec.containers[0]!;
      const pods = await podsOf(w);
      expect(pods.length, `${w.metadata.name} pods`).toBeGreaterThan(0);
      for (const { pod, ip } of pods) {
        for (const [kind, probe] of Object.entries({
          startup: c.startupProbe,
          readiness: c.readinessProbe,
          liveness: c.livenessProbe,
        })) {
          // Signaling is ready once the media-worker has registered through NATS: this waits for that too.
          await waitUntil(`${pod} ${kind} probe ${probe?.httpGet?.path ?? '(none)'}`, () => probeOk(c, probe, ip), 60_000);
        }
      }
    }
  });

  it('signaling holds the Secret: an admin token signed with it opens /debug/api, one signed otherwise does not', async () => {
    const [first] = await podsOf(signaling);
    expect(first).toBeDefined();
    const url = `http://${first!.ip}:3000/debug/api/rooms`;
    const admin = await issueToken(parleySecret, { identity: 'ops', name: 'Ops', admin: true });
    const res = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    DebugRoomsResponse.parse(await res.json());
    const forged = await issueToken('some-other-secret-0123456789', { identity: 'ops', name: 'Ops', admin: true });
    expect((await fetch(url, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    // The field references: each pod knows its own name.
    for (const { pod, container } of await podsOf(signaling)) {
      expect((await podman(['exec', container, 'printenv', 'SIGNALING_INSTANCE_ID'])).trim()).toBe(pod);
    }
  });

  it("coturn relays a member's credential, as signaling hands it out, to the media node only; a wrong secret gets 401", async () => {
    const [first] = await podsOf(signaling);
    const [turn] = await podsOf(coturn);
    expect(first && turn).toBeDefined();
    // coturn's secret is in the file its shell wrote, not on turnserver's command line or in its environment.
    const turnProcess = await podman(['exec', turn!.container, 'cat', '/proc/1/cmdline', '/proc/1/environ']);
    expect(turnProcess).toContain('turnserver');
    expect(turnProcess).not.toContain(turnSecret);
    const member = await TestClient.open(
      wsUrl(`http://${first!.ip}:3000`, await issueToken(parleySecret, { identity: 'erin', name: 'Erin' })),
    );
    const joined = await member.request('join', { room: 'kube-turn' });
    await member.request('leave');
    member.close();
    if (!joined.ok) throw new Error(JSON.stringify(joined.error));
    const [server] = (joined.data as { iceServers: { urls: string[]; username: string; credential: string }[] }).iceServers;
    expect(server?.urls).toEqual(turnUrls);
    expect(server?.username).toMatch(/^\d+:erin$/);

    const allocated = await turnAllocate(nodeIp, 3478, server!.username, server!.credential);
    expect(allocated.answer).toBe('ok');
    const forged = await turnCredential({ urls: turnUrls, secret: 'not-the-cluster-turn-secret-0123456789', ttlS: 600 }, 'erin');
    expect((await turnAllocate(nodeIp, 3478, forged.username, forged.credential)).answer).toBe(401);

    // A UDP echo on the node's address stands in for a media-worker port; turnutils_uclient runs in coturn's pod.
    const echo = await udpEcho(nodeIp);
    try {
      const login = { server: nodeIp, username: server!.username, password: server!.credential };
      const uclient = async (peer: string, messages: number) =>
        readUclient(
          await podman(
            ['exec', turn!.container, 'turnutils_uclient', ...uclientArgs({ ...login, peer, peerPort: echo.port, messages })],
            {
              combined: true,
            },
          ).catch((err: Error & { stderr?: string }) => err.stderr ?? err.message),
        );
      const relayed = await uclient(nodeIp, 5);
      expect(relayed.forbidden, relayed.output).toBe(false);
      expect([relayed.sent, relayed.received, echo.received()], relayed.output).toEqual([5, 5, 5]);
      // The cluster's network (the NATS pod) and the node's loopback: refused.
      for (const peer of [natsIp, '127.0.0.1']) {
        const refused = await uclient(peer, 1);
        expect(refused.forbidden, `${peer}: ${refused.output}`).toBe(true);
      }
      console.log(
        `kube coturn: allocation in ${allocated.ms} ms; 5 packets relayed to ${nodeIp}:${echo.port} and back; ${natsIp} and 127.0.0.1 refused (403)`,
      );
    } finally {
      echo.close();
    }
  });

  it('the media-worker’s preStop hook drains it and ends the container', async () => {
    const [mw] = await podsOf(media);
    expect(mw).toBeDefined();
    const hook = media.spec.template.spec.containers[0]!.lifecycle?.preStop?.exec?.command;
    expect(hook).toBeDefined();
    const restarts = async () => Number((await podman(['inspect', '--format', '{{.RestartCount}}', mw!.container])).trim());
    const before = await restarts();
    const started = Date.now();
    // The hook ends with the container, so podman exec reports it killed (137); the kubelet stops the hook too.
    await podman(['exec', mw!.container, ...hook!]).catch(() => undefined);
    // The Deployment's restartPolicy (Always) starts it again: one restart more is the proof it ended.
    await waitUntil('the media-worker container to end', async () => (await restarts()) > before, 30_000);
    const exit = (await podman(['inspect', '--format', '{{.State.ExitCode}}', mw!.container])).trim();
    console.log(`media-worker preStop: drained and exited (code ${exit}) in ${Date.now() - started} ms`);
    expect(exit).toBe('0');
    const logs = await podman(['logs', mw!.container], { combined: true });
    expect(logs).toMatch(/SIGTERM: draining/);
  });
});
