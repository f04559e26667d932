import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDistributed, startEmbedded, TEST_SECRET, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { adminToken, closeOf, sleep } from '../../harness/probes.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { issueToken } from '../../signaling/auth.ts';

const MiB = 1024 * 1024;

/**
 * Who gets in, and with how much, against `npm start` with the real mediasoup worker: the probes of issue #14.
 * Dev tokens (never admin, never in a deployment or production), the listen address, Host and Origin, frames
 * over the size limit, connections per identity and per address, tokens that expire on an open socket or live
 * too long, spans without a membership, deeply nested JSON and /metrics under unknown methods.
 */
describe('admission: tokens, origins, sizes and counts', () => {
  let cluster: Cluster;
  let base: string;
  const clients: TestClient[] = [];
  const open = async (jwt: string, options?: WebSocket.ClientOptions) => {
    const c = await TestClient.open(wsUrl(base, jwt), options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startEmbedded({ env: { MAX_CONNECTIONS_PER_IP: '40', NODE_ENV: 'development' } });
    base = cluster.signaling[0]!;
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await cluster?.stop();
  });

  const devToken = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('never mints an admin token, and a dev token does not open /debug', async () => {
    const admin = await devToken({ name: 'Mallory', room: '*', admin: true });
    const body = (await admin.json()) as { error: { code: string; message: string } };
    console.log(`POST /api/dev/token {admin:true}: ${admin.status} ${body.error.message}`);
    expect(admin.status).toBe(400);
    expect(body.error.code).toBe('BAD_REQUEST');

    const plain = (await (await devToken({ name: 'Mallory' })).json()) as { token: string };
    const debug = await fetch(`${base}/debug/api/rooms`, { headers: { authorization: `Bearer ${plain.token}` } });
    expect(debug.status).toBe(403);
    const ops = await fetch(`${base}/debug/api/rooms`, { headers: { authorization: `Bearer ${await adminToken()}` } });
    expect(ops.status).toBe(200);
  });

  it('listens on 127.0.0.1 only, unless HOST says otherwise', async () => {
    expect(cluster.processes[0]!.output()).toMatch(/listening on 127\.0\.0\.1/);
    const port = new URL(base).port;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) return console.log('no non-loopback IPv4 address on this machine: only the log line is checked');
    const reached = await fetch(`http://${external}:${port}/healthz`).then(
      () => 'answered',
      (err: Error) => (err.cause as { code?: string })?.code ?? err.message,
    );
    console.log(`http://${external}:${port}/healthz from this machine: ${reached}`);
    expect(reached).toBe('ECONNREFUSED');
  });

  it('refuses a foreign Host (DNS rebinding) on every browser-facing path, but not on the probes', async () => {
    const evil = { host: 'evil.example' };
    const statuses = {
      page: await statusWithHost(`${base}/`, 'GET', evil.host),
      version: await statusWithHost(`${base}/api/version`, 'GET', evil.host),
      devToken: await statusWithHost(`${base}/api/dev/token`, 'POST', evil.host, '{"name":"Eve"}'),
      ws: (await closeOf(wsUrl(base, await token('Eve')), { headers: evil }))[0],
      healthz: await statusWithHost(`${base}/healthz`, 'GET', evil.host),
      regions: await statusWithHost(`${base}/api/regions`, 'GET', evil.host),
      // The region probe is timed by pages of any origin and says only the region's name.
      region: await statusWithHost(`${base}/api/region`, 'GET', evil.host),
    };
    console.log(`Host: evil.example → ${JSON.stringify(statuses)}`);
    expect(statuses).toEqual({ page: 403, version: 403, devToken: 403, ws: 403, healthz: 200, regions: 403, region: 200 });
    // The same port by name and by address is fine.
    expect((await fetch(base.replace('127.0.0.1', 'localhost'))).status).toBe(200);
  });

  it('refuses a WebSocket opened from a foreign origin, accepts our own and local development ones', async () => {
    const jwt = await token('Origin');
    const foreign = await closeOf(wsUrl(base, jwt), { origin: 'https://evil.example' });
    console.log(`/ws with Origin https://evil.example: ${foreign.join(' ')}`);
    expect(foreign[0]).toBe(403);
    for (const origin of [base, 'http://localhost:5173']) {
      const c = await open(jwt, { origin });
      expect((await c.request('subscribeLobby')).ok).toBe(true);
      c.close();
    }
  });

  it('closes a 1 MiB frame with 1009 within a second, and four 99 MiB frames cost signaling no memory', async () => {
    const started = Date.now();
    const c = await open(await token('Bulky'));
    const closed = new Promise<[number, number]>((resolve) =>
      c.ws.once('close', (code) => resolve([code, Date.now() - started])),
    );
    c.ws.on('error', () => undefined);
    const sentAt = Date.now();
    c.ws.send(Buffer.alloc(MiB, 'x').toString());
    const [code, at] = await closed;
    console.log(`1 MiB frame: closed with ${code} after ${at - (sentAt - started)} ms`);
    expect(code).toBe(1009);
    expect(at - (sentAt - started)).toBeLessThan(1000);

    const pid = cluster.processes[0]!.child.pid!;
    const before = memory(pid);
    const frame = Buffer.alloc(99 * MiB, 'y');
    await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const ws = new WebSocket(wsUrl(base, await token(`Huge${i}`)));
        ws.on('error', () => undefined);
        await new Promise((resolve) => ws.once('open', resolve));
        const gone = new Promise((resolve) => ws.once('close', resolve));
        ws.send(frame);
        await gone;
      }),
    );
    const after = memory(pid);
    console.log(
      `signaling RSS around four 99 MiB frames: ${before.rssMiB} MiB before (peak ${before.peakMiB}), ${after.rssMiB} MiB after (peak ${after.peakMiB})`,
    );
    expect(after.peakMiB - before.peakMiB).toBeLessThan(50);
  });

  it('refuses the 21st socket of one identity with 4429, and shares one request bucket between its sockets', async () => {
    const jwt = await token('Many');
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open(jwt)));
    const refused = await closeOf(wsUrl(base, jwt));
    console.log(`21st socket of one identity: ${refused.join(' ')}`);
    expect(refused[0]).toBe(4429);

    // 20 sockets × 20 requests in one go: one burst (100) gets through, not 20 of them.
    const replies = (
      await Promise.all(sockets.map((s) => s.burst(20, (i) => JSON.stringify({ id: i, method: 'teleport' }))))
    ).flat();
    const limited = replies.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length;
    console.log(`400 requests over 20 sockets of one identity: ${400 - limited} answered, ${limited} RATE_LIMITED`);
    expect(400 - limited).toBeLessThanOrEqual(110);
    for (const s of sockets) s.close();
  });

  it('refuses sockets beyond the per-address cap with 4429', async () => {
    const sockets = await Promise.all(Array.from({ length: 40 }, async (_, i) => open(await token(`Crowd${i}`))));
    const refused = await closeOf(wsUrl(base, await token('Crowd40')));
    console.log(`41st socket from 127.0.0.1 (MAX_CONNECTIONS_PER_IP=40): ${refused.join(' ')}`);
    expect(refused[0]).toBe(4429);
    for (const s of sockets) s.close();
    await sleep(300);
  });

  it('closes a socket whose token expires with 4401 and a reason, and allows 30 s of clock skew', async () => {
    // Expired 29 s ago: inside the leeway, so accepted, and closed a second later.
    const now = Math.floor(Date.now() / 1000);
    const c = await open(await issueToken(TEST_SECRET, { identity: 'late', name: 'Late', ttlSeconds: -29 }, now));
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      c.ws.once('close', (cd, r) => resolve([cd, String(r)])),
    );
    console.log(`token expiring on an open socket: closed ${code} "${reason}"`);
    expect([code, reason]).toEqual([4401, 'access token expired']);

    const future = await issueToken(TEST_SECRET, { identity: 'early', name: 'Early' }, now + 2);
    expect((await (await open(future)).request('subscribeLobby')).ok).toBe(true);
    const farFuture = await issueToken(TEST_SECRET, { identity: 'early', name: 'Early' }, now + 120);
    expect(await closeOf(wsUrl(base, farFuture))).toEqual([4401, 'access token not valid yet (check the clocks)']);
    const longLived = await token('Forever', { ttlSeconds: 7 * 24 * 3600 });
    expect(await closeOf(wsUrl(base, longLived))).toEqual([4401, 'access token lives longer than the 86400 s allowed']);
  });

  it('takes the token from the WebSocket subprotocol header and answers parley.v1', async () => {
    const jwt = await token('Subprotocol');
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, ['parley.v1', `parley.token.${jwt}`]);
    const protocol = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => resolve(ws.protocol));
      ws.once('error', reject);
    });
    expect(protocol).toBe('parley.v1');
    ws.close();
    expect(await closeOf(`${base.replace(/^http/, 'ws')}/ws`, undefined, ['parley.v1', 'parley.token.forged'])).toEqual([
      4401,
      'access token invalid',
    ]);
  });

  it('refuses spans from a connection without a membership, and bounds them with one', async () => {
    const span = (i: number) => ({
      traceId: i.toString(16).padStart(32, '0'),
      spanId: i.toString(16).padStart(16, '0'),
      name: 'probe',
      kind: 'internal',
      service: 'parley-web',
      startMs: 1,
      endMs: 2,
      attributes: {},
      events: [],
      status: 'ok',
    });
    const c = await open(await token('Spammer'));
    const spans = Array.from({ length: 64 }, (_, i) => span(i + 1));
    expect(await c.request('reportSpans', { spans })).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
    await c.request('join', { room: 'spans' });
    const codes = [];
    for (let i = 0; i < 10; i++) {
      const r = await c.request('reportSpans', { spans });
      codes.push(r.ok ? 'OK' : r.error.code);
    }
    console.log(`ten batches of 64 spans at once from a member: ${codes.join(',')}`);
    expect(codes.slice(0, 4)).toEqual(['OK', 'OK', 'OK', 'OK']);
    expect(codes.slice(5)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('answers deeply nested JSON with BAD_REQUEST, not INTERNAL', async () => {
    const c = await open(await token('Nest'));
    await c.request('join', { room: 'nest' });
    const send = await c.request('createTransport', { direction: 'send' });
    const transportId = send.ok ? (send.data as { id: string }).id : '';
    const produce = (depth: number) =>
      c.request('produce', {
        transportId,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, parameters: nest(depth) }] },
      });
    const [nested, deeper] = [await produce(100), await produce(3000)];
    const said = (r: typeof nested) => (r.ok ? 'OK' : `${r.error.code} ${r.error.message}`);
    console.log(`produce with parameters nested 100 deep: ${said(nested)}; 3000 deep: ${said(deeper)}`);
    expect(nested).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(deeper).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((await c.request('createTransport', { direction: 'recv' })).ok).toBe(true);
  });

  it('counts unknown methods under one label in /metrics, without resetting them', async () => {
    const unknown = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).not.toMatch(/method="teleport"|method="fly"/);
      const total = text.match(
        /parley_signaling_requests_total\{region="default",method="unknown",code="UNKNOWN_METHOD"\} (\d+)/,
      )?.[1];
      const count = text.match(/parley_signaling_request_duration_ms_count\{region="default",method="unknown"\} (\d+)/)?.[1];
      return [Number(total ?? 0), Number(count ?? 0)];
    };
    const c = await open(await token('Counter'));
    await c.request('teleport');
    const [total, count] = await unknown();
    for (const method of ['teleport', 'fly', 'teleport']) await c.request(method);
    expect(await unknown()).toEqual([total! + 3, count! + 3]);
  });
});

describe('dev tokens in a deployment', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // PARLEY_DEV_TOKENS=1 is set for every process of the test cluster: it must not matter.
    cluster = await startDistributed();
  });
  afterAll(() => cluster?.stop());

  it('are off on signaling and on `npm start` joining the deployment, whatever PARLEY_DEV_TOKENS says', async () => {
    const mint = (base: string) =>
      fetch(`${base}/api/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Eve' }),
      });
    expect((await mint(cluster.signaling[0]!)).status).toBe(404);
    const signaling = cluster.processes.find((p) => /signaling/.test(p.output()) || p.output().includes('listening on'))!;
    expect(signaling.output()).toContain('PARLEY_DEV_TOKENS ignored: this process joins a deployment (NATS_URL is set)');

    const joined = await startEmbedded({ natsUrl: cluster.nats!.url, env: { MEDIA_INSTANCE_ID: 'combined-1' } });
    try {
      expect((await mint(joined.signaling[0]!)).status).toBe(404);
      expect(joined.processes[0]!.output()).toContain('dev tokens are off: this process joins a deployment (NATS_URL is set)');
    } finally {
      await joined.stop();
    }
    const production = await startEmbedded({ env: { NODE_ENV: 'production' } });
    try {
      expect((await mint(production.signaling[0]!)).status).toBe(404);
      expect(production.processes[0]!.output()).toContain('dev tokens are off: NODE_ENV is production');
    } finally {
      await production.stop();
    }
  });
});

/** fetch() will not send another Host header; node:http will. */
function statusWithHost(url: string, method: string, host: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { host, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end(body);
  });
}

function nest(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** Resident and peak resident memory of a process (Linux). */
function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}
