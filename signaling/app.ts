import { Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { Bus } from '../bus/bus.ts';
import type { AccessClaims } from '../protocol/auth.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { CLIENT_PROTOCOL_VERSION } from '../protocol/client.ts';
import { DevTokenRequest, httpPaths } from '../protocol/http.ts';
import type { DevTokenResponse, HttpError, VersionResponse } from '../protocol/http.ts';
import { ParleyError } from '../protocol/errors.ts';
import { buckets } from '../protocol/kv.ts';
import { PRESENCE_TTL_MS } from '../protocol/presence.ts';
import { issueToken, verifyToken } from './auth.ts';
import type { SignalingConfig } from './config.ts';
import { RateLimiter } from './limits.ts';
import { MediaClient } from './media.ts';
import { Memberships } from './memberships/lifecycle.ts';
import { Metrics } from './metrics.ts';
import { Placement } from './placement.ts';
import { Lobby } from './lobby.ts';
import { ClientConnection } from './connection.ts';
import { createDebugApi } from './debug.ts';
import { openCommunity } from './community.ts';
import type { SpanSink } from '../tracing/sink.ts';
import type { TraceStore } from '../tracing/store.ts';

export interface SignalingOptions {
  bus: Bus;
  config: SignalingConfig;
  /** The runtime's WebSocket upgrade (hono/deno or @hono/node-ws): the only runtime-specific piece. */
  upgradeWebSocket: UpgradeWebSocket;
  /** Recent traces for /debug, and where the browser's spans go. */
  traces?: SpanSink & { store: TraceStore };
}

export interface Signaling {
  app: Hono;
  /** Stops taking connections, asks clients to reconnect elsewhere (1012), resolves when they are gone. */
  drain(): Promise<void>;
  close(): void;
}

/** The runtime-free signaling app; node.ts and deno.ts wrap it the way Hono's own adapters do. */
export async function createSignaling({ bus, config, upgradeWebSocket, traces }: SignalingOptions): Promise<Signaling> {
  const media = new MediaClient(bus);
  const placement = await Placement.open(bus);
  const lobby = await Lobby.open(await bus.kv(buckets.presence, { ttlMs: PRESENCE_TTL_MS }));
  const memberships = await Memberships.open(bus, media, lobby, config, placement);
  const metrics = new Metrics();
  metrics.memberships = () => memberships.size;
  const community = await openCommunity({
    bus,
    media,
    lobby,
    config: config.community,
    secret: config.secret,
    instanceId: config.instanceId,
  });
  const deps = { media, placement, memberships, lobby, metrics, traces, community };
  const debug = await createDebugApi(bus, config.secret, media, traces?.store);
  const sockets = new Set<WSContext>();
  let draining = false;

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    if (draining) return c.json({ ready: false, reason: 'draining' }, 503);
    const live = await placement.liveInstances();
    return live.length > 0
      ? c.json({ ready: true, mediaWorkers: live.length })
      : c.json({ ready: false, reason: 'no media worker' }, 503);
  });
  app.get('/metrics', (c) =>
    c.text(metrics.render() + community.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );
  app.get(httpPaths.version, (c) => c.json({ protocol: CLIENT_PROTOCOL_VERSION } satisfies VersionResponse));
  app.route('/debug/api', debug.app);
  community.mount(app);
  if (config.devTokens) {
    // Development only: anyone may mint a token for any name.
    app.post(httpPaths.devToken, async (c) => {
      const body = DevTokenRequest.safeParse(await c.req.json().catch(() => null));
      if (!body.success)
        return c.json({ error: { code: 'BAD_REQUEST', message: 'name and room expected' } } satisfies HttpError, 400);
      const identity = `dev-${crypto.randomUUID().slice(0, 8)}`;
      const minted: DevTokenResponse = { token: await issueToken(config.secret, { identity, ...body.data }) };
      return c.json(minted);
    });
  }

  app.get(
    '/ws',
    upgradeWebSocket(async (c) => {
      const admission = await admit(c.req.query('v'), c.req.query('token'));
      let connection: ClientConnection | undefined;
      return {
        onOpen(_event, ws) {
          if ('code' in admission) return ws.close(admission.code, admission.reason);
          sockets.add(ws);
          metrics.connections++;
          const limiter = new RateLimiter(config.ratePerSecond, config.rateBurst);
          connection = new ClientConnection(socketOf(ws), admission.claims, deps, limiter);
        },
        onMessage(event) {
          if (typeof event.data === 'string') void connection?.onMessage(event.data);
          else connection?.onBinary();
        },
        onClose(_event, ws) {
          if (sockets.delete(ws)) metrics.connections--;
          connection?.onClose();
          connection = undefined;
        },
      };
    }),
  );

  async function admit(
    version: string | undefined,
    token: string | undefined,
  ): Promise<{ claims: AccessClaims } | { code: number; reason: string }> {
    if (draining) return { code: CloseCode.restarting, reason: 'server is restarting; reconnect' };
    if (Number(version) !== CLIENT_PROTOCOL_VERSION) {
      return {
        code: CloseCode.badVersion,
        reason: `protocol version ${CLIENT_PROTOCOL_VERSION} required (got ${version ?? 'none'})`,
      };
    }
    try {
      return { claims: await verifyToken(config.secret, token) };
    } catch (err) {
      return { code: CloseCode.unauthorized, reason: err instanceof ParleyError ? err.message : 'unauthorized' };
    }
  }

  return {
    app,
    async drain() {
      draining = true;
      for (const ws of sockets) ws.close(CloseCode.restarting, 'server is restarting; reconnect');
      const deadline = Date.now() + config.drainTimeoutMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    },
    close() {
      community.close();
      debug.close();
      memberships.close();
      lobby.close();
      placement.close();
    },
  };
}

function socketOf(ws: WSContext) {
  return { send: (text: string) => ws.send(text), close: (code: number, reason: string) => ws.close(code, reason) };
}
