import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readUclient, turnAllocate, uclientArgs, udpEcho } from '../../harness/coturn.ts';
import { waitUntil } from '../../harness/media-checks.ts';
import { hostAddress } from '../../harness/ports.ts';
import { ensureImages } from '../../scripts/stack/images.ts';
import type { StackImages } from '../../scripts/stack/images.ts';
import { podman, podmanEnv, repoRoot } from '../../scripts/stack/podman.ts';
import { turnCredential } from '../../signaling/turn.ts';

/**
 * The coturn service of infra/compose/compose.yaml, run by podman-compose (Debian's 1.0.3) as written, with the
 * secrets `npm run stack -- secrets` makes: compose.yaml is copied byte for byte into a directory of the test's
 * own (its `./secrets` is then the test's, not the repository's), and an override file points the image at the
 * one built here (no registry), as `kube-play.test.ts` does for the manifests. podman-compose 1.0.3 has no
 * `--env-file`: secrets.env is handed to it in its environment, which is what `--env-file` does for Docker Compose.
 *
 * PARLEY_ANNOUNCED_ADDRESS is this machine's own address (what a user sets to serve other devices), where the
 * media-workers' ports would be published; a UDP echo server on that address stands in for one. A member's
 * credential, as signaling computes it from secrets.env's TURN_SECRET, gets an allocation and a relay to it;
 * a wrong secret or an expired credential gets 401; loopback and the containers' network get 403.
 */
const project = `compose-turn-${process.pid}`;
const container = `${project}_coturn_1`;

function podmanCompose(dir: string, env: Record<string, string>, args: string[]): Promise<string> {
  const child = spawn('podman-compose', ['-f', 'compose.yaml', '-f', 'images.yaml', '-p', project, ...args], {
    cwd: dir,
    env: { ...podmanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`podman-compose ${args.join(' ')}: ${code}\n${out}`)),
    );
  });
}

describe("Compose's coturn under podman-compose", () => {
  let images: StackImages;
  let dir: string;
  let env: Record<string, string>;
  const address = hostAddress();

  beforeAll(async () => {
    images = await ensureImages();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-compose-turn-'));
    fs.copyFileSync(path.join(repoRoot, 'infra/compose/compose.yaml'), path.join(dir, 'compose.yaml'));
    execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts/stack.ts'), 'secrets', path.join(dir, 'secrets')],
      {
        cwd: repoRoot,
        stdio: 'pipe',
      },
    );
    const overrides = {
      coturn: images.coturn,
      'signaling-node': images.signalingNode,
      'nats-1': images.nats,
      'nats-2': images.nats,
      'nats-3': images.nats,
    };
    const services = Object.fromEntries(Object.entries(overrides).map(([name, image]) => [name, { image }]));
    fs.writeFileSync(path.join(dir, 'images.yaml'), stringify({ services }));
    const secrets = Object.fromEntries(
      fs
        .readFileSync(path.join(dir, 'secrets/secrets.env'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    env = { ...secrets, PARLEY_ANNOUNCED_ADDRESS: address };
    await podmanCompose(dir, env, ['up', '-d', 'coturn']);
    await waitUntil('coturn to answer', async () => /SQLite DB connection success/.test(await logs()), 30_000);
  }, 35 * 60_000);

  afterAll(async () => {
    const left = (await podman(['ps', '-a', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Names}}']))
      .split('\n')
      .filter(Boolean);
    if (left.length) await podman(['rm', '--force', '--time', '2', ...left]);
    await podman(['network', 'rm', `${project}_default`]).catch(() => undefined);
    const volumes = (await podman(['volume', 'ls', '--format', '{{.Name}}']))
      .split('\n')
      .filter((v) => v.startsWith(`${project}_`));
    if (volumes.length) await podman(['volume', 'rm', '--force', ...volumes]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const logs = () => podman(['logs', container], { combined: true });
  const secret = () => env.TURN_SECRET!;
  const credential = (forSecret = secret(), nowS?: number) =>
    turnCredential({ urls: [`turn:${address}:3478`], secret: forSecret, ttlS: 600 }, 'erin', nowS);
  /** turnutils_uclient from the coturn image, on this machine's network: a client outside the containers. */
  const uclient = async (options: Omit<Parameters<typeof uclientArgs>[0], 'server'>) =>
    readUclient(
      await podman(
        [
          'run',
          '--rm',
          '--no-healthcheck',
          '--network',
          'host',
          '--entrypoint',
          'turnutils_uclient',
          images.coturn,
          ...uclientArgs({ server: address, ...options }),
        ],
        { combined: true },
      ).catch((err: Error & { stderr?: string }) => err.stderr ?? err.message),
    );

  it('secrets writes the TURN secret for signaling and the file coturn reads, and the compose file wires both', async () => {
    expect(secret()).toMatch(/^[0-9a-f]{64}$/);
    const file = path.join(dir, 'secrets/turn.conf');
    expect(fs.readFileSync(file, 'utf8')).toBe(`static-auth-secret=${secret()}\n`);
    // Readable by coturn's user alone (root runs the tests: rootful podman maps it 1:1), in a directory of its owner's.
    expect(fs.statSync(file).mode & 0o777).toBe(0o400);
    expect(fs.statSync(file).uid).toBe(65534);
    expect(fs.statSync(path.join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    // What signaling gets, as podman-compose resolves the file with these secrets: its container, created (not
    // started: it would need the NATS cluster) with the image built here, with its dependencies (created too).
    await podmanCompose(dir, env, ['up', '--no-start', '--no-build', 'signaling-node']);
    const signalingEnv = Object.fromEntries(
      (JSON.parse(await podman(['inspect', '--format', '{{json .Config.Env}}', `${project}_signaling-node_1`])) as string[]).map(
        (e) => e.split(/=(.*)/s).slice(0, 2),
      ),
    ) as Record<string, string>;
    expect(signalingEnv.TURN_SECRET).toBe(secret());
    expect(signalingEnv.TURN_URLS).toBe(`turn:${address}:3478?transport=udp,turn:${address}:3478?transport=tcp`);
    // coturn runs as nobody, and its secret is in neither its command line nor its environment.
    const inspect = await podman(['inspect', container]);
    expect(inspect).not.toContain(secret());
    expect((await podman(['exec', container, 'id', '-u'])).trim()).toBe('65534');
  });

  it("a member's credential gets an allocation; a wrong secret and an expired credential get 401", async () => {
    const member = await credential();
    const ok = await turnAllocate(address, 3478, member.username, member.credential);
    expect(ok.answer).toBe('ok');
    const forged = await credential('not-the-compose-turn-secret-0123456789');
    expect((await turnAllocate(address, 3478, forged.username, forged.credential)).answer).toBe(401);
    const expired = await credential(secret(), Math.floor(Date.now() / 1000) - 700);
    expect((await turnAllocate(address, 3478, expired.username, expired.credential)).answer).toBe(401);
    console.log(`compose coturn: allocation in ${ok.ms} ms (UDP, through the published port)`);
  });

  it('relays to the announced address over TURN/UDP and TURN/TCP, and refuses loopback and the containers’ network (403)', async () => {
    const echo = await udpEcho(address);
    try {
      const member = await credential();
      const login = { username: member.username, password: member.credential };
      for (const tcp of [false, true]) {
        const before = echo.received();
        const relayed = await uclient({ ...login, peer: address, peerPort: echo.port, messages: 5, tcp });
        expect(relayed.forbidden, relayed.output).toBe(false);
        expect(relayed.sent, relayed.output).toBe(5);
        expect(relayed.received, relayed.output).toBe(5);
        expect(echo.received() - before).toBe(5);
      }
      const gateway = (
        await podman(['network', 'inspect', '--format', '{{range .Subnets}}{{.Gateway}}{{end}}', `${project}_default`])
      ).trim();
      for (const peer of ['127.0.0.1', gateway]) {
        const refused = await uclient({ ...login, peer, peerPort: echo.port, messages: 1 });
        expect(refused.forbidden, `${peer}: ${refused.output}`).toBe(true);
        expect(refused.received).toBe(0);
      }
      console.log(
        `compose coturn: 10 packets relayed to ${address}:${echo.port} and back; 127.0.0.1 and ${gateway} refused (403)`,
      );
    } finally {
      echo.close();
    }
  });
});
