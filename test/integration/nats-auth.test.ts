import fs from 'node:fs';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/wait.ts';
import { connectBus } from '../../bus/connect.ts';
import { natsOptionsFromEnv } from '../../bus/nats-options.ts';
import type { NatsRole } from '../../bus/nats-options.ts';
import { NatsBus } from '../../bus/nats.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { makeNkeyUser, makeTestPki, PERMISSIONS_CONF, rolesConfig } from '../../harness/nats-auth.ts';
import type { TestPki } from '../../harness/nats-auth.ts';
import { startNats } from '../../harness/nats.ts';
import type { NatsServer } from '../../harness/nats.ts';
import { sleep } from '../../harness/probes.ts';
import { readableLines, startTs } from '../../harness/processes.ts';
import { TestClient } from '../../harness/ws-client.ts';
import type { ParleyError } from '../../protocol/errors.ts';
import { buckets } from '../../protocol/kv.ts';
import type { Lobby } from '../../protocol/presence.ts';
import { subjects } from '../../protocol/subjects.ts';

const PASSWORD = 'signaling-secret-0123456789';

/**
 * NATS as the trust boundary (issue #14): a real nats-server with TLS from a throwaway CA (client certificates
 * required on TCP) and Parley's two roles from infra/nats/permissions.conf. Each tier works with its own
 * credential (Node signaling by password over TLS, Deno signaling by password over WSS, the media worker by
 * nkey with a client certificate); each role is refused what belongs to the other; a wrong password stops a
 * process with one clear line; and the media worker refuses to pipe media to an address nobody registered.
 */
describe('NATS credentials, TLS and per-role permissions', () => {
  let pki: TestPki;
  let nats: NatsServer;
  let cluster: Cluster;
  let mediaSeed: string;
  let instanceId: string;
  const conns: NatsConnection[] = [];

  const tlsEnv = () => ({ NATS_TLS_CA: pki.caFile, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey });
  const signalingEnv = () => ({ NATS_USER: 'parley-signaling', NATS_PASSWORD: PASSWORD, ...tlsEnv() });
  // Deno reaches NATS over WSS: no client certificate (WebSockets cannot present one), the CA through DENO_CERT.
  const denoEnv = () => ({
    NATS_USER: 'parley-signaling',
    NATS_PASSWORD: PASSWORD,
    NATS_TLS_CA: pki.caFile,
    DENO_CERT: pki.caFile,
  });

  /** A raw connection with a role's credential, as an intruder holding it would have. */
  const as = async (role: NatsRole) => {
    const env = role === 'media-worker' ? { NATS_NKEY_SEED: mediaSeed, ...tlsEnv() } : signalingEnv();
    const settings = natsOptionsFromEnv({ NATS_URL: nats.url, ...env }, role)!;
    const nc = await connect({ servers: settings.servers, ...settings.options, maxReconnectAttempts: 0 });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    const media = makeNkeyUser(pki.dir, 'media-worker');
    mediaSeed = media.seedFile;
    nats = await startNats({
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, verifyClients: true },
      config: rolesConfig({ signalingPassword: PASSWORD, mediaWorkerNkey: media.publicKey }),
      includes: [PERMISSIONS_CONF],
      debug: true,
    });
    cluster = await startDistributed({
      nats,
      signaling: ['node', 'deno'],
      mediaWorkerEnv: { NATS_NKEY_SEED: mediaSeed, ...tlsEnv() },
      signalingEnv: (runtime) => (runtime === 'deno' ? denoEnv() : signalingEnv()),
    });
    const registry = new NatsBus(await as('signaling'));
    instanceId = await waitFor('the media worker in the registry', async () => {
      const kv = await registry.kv(buckets.mediaWorkers);
      return (await kv.keys())[0];
    });
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await cluster?.stop();
    if (pki) fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  it('lets each tier work with its own credential: Node and Deno signaling, the media worker', async () => {
    const [node, deno] = cluster.signaling as [string, string];
    const ada = await TestClient.open(wsUrl(node, await token('Ada')));
    const bob = await TestClient.open(wsUrl(deno, await token('Bob')));
    expect((await ada.request('join', { room: 'trusted' })).ok).toBe(true);
    expect((await bob.request('join', { room: 'trusted' })).ok).toBe(true);
    expect((await ada.request('createTransport', { direction: 'send' })).ok).toBe(true);
    expect((await bob.request('createTransport', { direction: 'recv' })).ok).toBe(true);
    const lobby = await waitFor('both in the lobby of each instance', async () => {
      const views = await Promise.all([ada, bob].map((c) => c.request('subscribeLobby')));
      const counts = views.map(
        (v) => ((v.ok ? v.data : { rooms: [] }) as Lobby).rooms.find((r) => r.roomId === 'trusted')?.participants.length,
      );
      return counts.every((n) => n === 2) ? counts : undefined;
    });
    expect(lobby).toEqual([2, 2]);
    // Chat crosses instances through the room feed and is kept in its stream; a moderator-free room still reads
    // the moderation, rooms and chat-head buckets on join.
    expect((await ada.request('sendChat', { text: 'over TLS' })).ok).toBe(true);
    const history = await waitFor('the message in the history Bob reads on the other runtime', async () => {
      const res = await bob.request('chatHistory', {});
      const messages = res.ok ? (res.data as { messages: { text: string }[] }).messages : [];
      return messages.some((m) => m.text === 'over TLS') ? messages : undefined;
    });
    expect(history.map((m) => m.text)).toEqual(['over TLS']);
    await ada.request('leave');
    await bob.request('leave');
    ada.close();
    bob.close();
    const violations = nats.output().match(/Permissions Violation.*/g) ?? [];
    console.log(`a join, transports, the lobby and chat through both runtimes: ${violations.length} permission violations`);
    expect(violations).toEqual([]);
  });

  it('refuses a signaling credential the media workers’ own subjects', async () => {
    const nc = await as('signaling');
    const refusals = await probe(nc, [
      ['publish', subjects.mediaCommand(instanceId, 'pipeProducer')],
      ['subscribe', subjects.mediaCommands(instanceId)],
      ['publish', `$KV.${buckets.mediaWorkers}.mw-fake`],
      ['subscribe', '_INBOX.media.>'],
      ['publish', `$JS.API.STREAM.DELETE.KV_${buckets.presence}`],
    ]);
    console.log(`signaling credential: ${JSON.stringify(refusals)}`);
    expect(Object.values(refusals).every((r) => r === 'refused')).toBe(true);
  });

  it('refuses a media-worker credential everything signaling owns', async () => {
    const nc = await as('media-worker');
    const refusals = await probe(nc, [
      ['publish', subjects.membershipTakeover('someone')],
      ['subscribe', subjects.membershipTakeovers],
      ['publish', subjects.mediaCommand(instanceId, 'leave')],
      ['publish', subjects.mediaCommand(instanceId, 'join')],
      ['publish', `$KV.${buckets.presence}.trusted.fake-peer`],
      ['publish', `$KV.${buckets.memberships}.forged`],
      ['subscribe', '_INBOX.signaling.>'],
      ['subscribe', subjects.telemetrySpans],
      ['publish', `$JS.API.STREAM.PURGE.KV_${buckets.memberships}`],
    ]);
    console.log(`media-worker credential: ${JSON.stringify(refusals)}`);
    expect(Object.values(refusals).every((r) => r === 'refused')).toBe(true);
  });

  it('refuses a wrong password with one clear line from our process', async () => {
    const wrong = await startTs('signaling/main.ts', {
      name: 'signaling (wrong password)',
      env: { PARLEY_SECRET: 'x'.repeat(20), NATS_URL: nats.url, ...signalingEnv(), NATS_PASSWORD: 'wrong', PORT: '0' },
      ready: /cannot connect to NATS/,
    });
    const code = await new Promise<number | null>((resolve) => {
      if (wrong.child.exitCode !== null) resolve(wrong.child.exitCode);
      else wrong.child.once('exit', (c) => resolve(c));
    });
    const lines = readableLines(wrong.output());
    console.log(`wrong NATS password: exit ${code}, "${lines.join(' | ')}"`);
    expect(code).toBe(1);
    expect(lines).toEqual([
      `[signaling] cannot connect to NATS at ${nats.url} as user parley-signaling: Authorization Violation (check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED or NATS_CREDS)`,
    ]);
  });

  it('lets the media worker pipe only to registered pipe addresses', async () => {
    const ada = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Ada')));
    await ada.request('join', { room: 'piped' });
    const send = await ada.request('createTransport', { direction: 'send' });
    const transportId = (send.ok ? send.data : {}) as { id: string };
    const produced = await ada.request('produce', {
      transportId: transportId.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }],
        encodings: [{ ssrc: 1 }],
      },
    });
    const { producerId } = (produced.ok ? produced.data : {}) as { producerId: string };
    // A holder of the media-worker credential (the only role that may ask) aims the microphone elsewhere.
    const bus = new NatsBus(await as('media-worker'));
    const pipe = (ip: string) =>
      bus.request(subjects.mediaCommand(instanceId, 'pipeProducer'), { roomId: 'piped', producerId, ip, port: 40999 }).then(
        () => 'OK',
        (err: ParleyError) => `${err.code} ${err.message}`,
      );
    const reflected = await pipe('203.0.113.7');
    console.log(`pipeProducer to 203.0.113.7: ${reflected}`);
    expect(reflected).toBe('FORBIDDEN 203.0.113.7 is not the pipe address of a registered media worker');
    ada.close();
  });
});

type Probe = ['publish' | 'subscribe', string];

/** Tries each publish or subscribe and reports whether the server refused it (its -ERR reaches the client). */
async function probe(nc: NatsConnection, probes: Probe[]): Promise<Record<string, string>> {
  const errors: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type === 'error') errors.push(status.error.message);
  })();
  const results: Record<string, string> = {};
  for (const [action, subject] of probes) {
    const before = errors.length;
    if (action === 'publish') nc.publish(subject, '{}');
    else
      nc.subscribe(subject, {
        callback: (err) => {
          if (err) errors.push(err.message);
        },
      });
    await nc.flush();
    await sleep(150);
    const seen = errors.slice(before).join(' ');
    const verb = action === 'publish' ? 'Publish' : 'Subscription';
    results[`${action} ${subject}`] = seen.includes(`Permissions Violation for ${verb} to "${subject}"`)
      ? 'refused'
      : `allowed ${seen}`;
  }
  return results;
}

describe('NATS token authentication', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNats({ config: 'authorization { token: "parley-nats-token-0123" }' });
  });
  afterAll(() => nats?.stop());

  it('connects with NATS_TOKEN and refuses a wrong one with one line', async () => {
    const bus = await connectBus(
      natsOptionsFromEnv({ NATS_URL: nats.url, NATS_TOKEN: 'parley-nats-token-0123' }, 'signaling'),
      'probe',
    );
    const kv = await bus.kv('parley-token-probe');
    await kv.put('k', { ok: true });
    expect((await kv.get('k'))?.value).toEqual({ ok: true });
    await bus.close();
    const wrong = await connectBus(natsOptionsFromEnv({ NATS_URL: nats.url, NATS_TOKEN: 'guess' }, 'signaling'), 'probe').then(
      () => 'connected',
      (err: Error) => err.message,
    );
    expect(wrong).toBe(
      `cannot connect to NATS at ${nats.url} as a token: Authorization Violation (check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED or NATS_CREDS)`,
    );
  });
});
