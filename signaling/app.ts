import { Hono } from 'hono';
import type { Context } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { Bus } from '../bus/bus.ts';
import type { AccessClaims } from '../protocol/auth.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { CLIENT_PROTOCOL_VERSION, WS_SUBPROTOCOL, WS_TOKEN_SUBPROTOCOL_PREFIX } from '../protocol/client.ts';
import { DevTokenRequest, httpPaths } from '../protocol/http.ts';
import type { DevTokenResponse, HttpError, RegionResponse, RegionsResponse, VersionResponse } from '../protocol/http.ts';
import { describeZodError, ParleyError } from '../protocol/errors.ts';
import { buckets } from '../protocol/kv.ts';
import { PRESENCE_TTL_MS } from '../protocol/presence.ts';
import { issueToken, verifyToken } from './auth.ts';
import type { SignalingConfig } from './config.ts';
import { ConnectionLimits } from './limits.ts';
import type { ConnectionSlot } from './limits.ts';
import { MediaClient } from './media.ts';
import { Memberships } from './memberships/lifecycle.ts';
import { Metrics, withRegion } from './metrics.ts';
import { OriginPolicy, originGuard } from './origins.ts';
import { Placement } from './placement.ts';
import { Lobby } from './lobby.ts';
import { RegionalKv } from './regional-kv.ts';
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
  /** What that upgrade takes besides (Deno: its heartbeat, `idleTimeout`). */
  upgradeOptions?: object;
  /** Recent traces for /debug, and where the browser's spans go. */
  traces?: SpanSink & { store: TraceStore };
  /** The address of the peer of this request's TCP connection (each runtime has its own getConnInfo). */
  remoteAddress(c: Context): string | undefined;
}

export interface Signaling {
  app: Hono;
  /** Stops taking connections, asks clients to reconnect elsewhere (1012), resolves when they are gone. */
  drain(): Promise<void>;
  close(): void;
}

/** The runtime-free signaling app; node.ts and deno.ts wrap it the way Hono's own adapters do. */
export async function createSignaling({
  bus,
  config,
  upgradeWebSocket,
  upgradeOptions,
  traces,
  remoteAddress,
}: SignalingOptions): Promise<Signaling> {
  const media = new MediaClient(bus);
  const placement = await Placement.open(bus, config.region, (id) => media.answers(id));
  // The regions whose buckets are read: those clients may choose, and those with a media-worker.
  const regions = () => [...config.regionUrls.map((r) => r.region), ...placement.regions()];
  const presence = await RegionalKv.open(bus, buckets.presence, PRESENCE_TTL_MS, config.region, regions);
  const lobby = await Lobby.open(presence, (region, since) => placement.heardFrom(region, since));
  const memberships = await Memberships.open(bus, media, lobby, config, placement, regions);
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
  const deps = { media, placement, memberships, lobby, metrics, traces, community, turn: config.turn };
  const debug = await createDebugApi(bus, config, media, traces?.store, config.instanceId);
  const sockets = new Set<WSContext>();
  const limits = new ConnectionLimits({
    perIdentity: config.maxConnectionsPerIdentity,
    perAddress: config.maxConnectionsPerIp,
    ratePerSecond: config.ratePerSecond,
    rateBurst: config.rateBurst,
  });
  let draining = false;

  const app = new Hono();
  // Probes and scrapes come with a pod IP or a service name as Host; everything else is for browsers.
  // The region probe is timed by pages of any origin (a client choosing its fastest region): it says nothing else.
  app.use('*', originGuard(new OriginPolicy(config.allowedOrigins), ['/healthz', '/readyz', '/metrics', httpPaths.region]));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    if (draining) return c.json({ ready: false, reason: 'draining' }, 503);
    const live = await placement.liveInstances();
    return live.length > 0
      ? c.json({ ready: true, mediaWorkers: live.length })
      : c.json({ ready: false, reason: 'no media worker' }, 503);
  });
  app.get('/metrics', (c) =>
    c.text(withRegion(metrics.render() + debug.incidents.render() + community.metrics(), config.region), 200, {
      'content-type': 'text/plain; version=0.0.4',
    }),
  );
  app.get(httpPaths.region, (c) =>
    c.json({ region: config.region } satisfies RegionResponse, 200, {
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
    }),
  );
  app.get(httpPaths.regions, (c) => c.json({ region: config.region, regions: config.regionUrls } satisfies RegionsResponse));
  app.get(httpPaths.version, (c) => c.json({ protocol: CLIENT_PROTOCOL_VERSION } satisfies VersionResponse));
  app.route('/debug/api', debug.app);
  community.mount(app);
  if (config.devTokens) {
    // The embedded default only: anyone may mint a token for any name, never an admin one.
    app.post(httpPaths.devToken, async (c) => {
      const body = DevTokenRequest.safeParse(await c.req.json().catch(() => null));
      if (!body.success) {
        const message = `name and room expected; admin tokens come from \`npm run token -- --admin\` (${describeZodError(body.error)})`;
        return c.json({ error: { code: 'BAD_REQUEST', message } } satisfies HttpError, 400);
      }
      const identity = `dev-${crypto.randomUUID().slice(0, 8)}`;
      const minted: DevTokenResponse = { token: await issueToken(config.secret, { identity, ...body.data }) };
      return c.json(minted);
    });
  }

  app.get(
    '/ws',
    upgradeWebSocket(async (c) => {
      const admission = await admit(c);
      // Read now: Deno's connection info is gone once the request has become a WebSocket.
      const address = clientAddress(c);
      let connection: ClientConnection | undefined;
      let slot: ConnectionSlot | undefined;
      return {
        onOpen(_event, ws) {
          if ('code' in admission) return ws.close(admission.code, admission.reason);
          const taken = limits.admit(admission.claims.sub, address);
          if ('refusal' in taken) return ws.close(CloseCode.tooManyConnections, taken.refusal);
          slot = taken;
          sockets.add(ws);
          metrics.connections++;
          connection = new ClientConnection(socketOf(ws), admission.claims, deps, taken.limiter, config);
        },
        onMessage(event) {
          if (typeof event.data === 'string') void connection?.onMessage(event.data);
          else connection?.onBinary();
        },
        onClose(_event, ws) {
          if (sockets.delete(ws)) metrics.connections--;
          slot?.release();
          connection?.onClose();
          connection = undefined;
        },
      };
    }, upgradeOptions),
  );

  /** Behind a trusted reverse proxy the client is the last X-Forwarded-For hop; else the TCP peer. */
  function clientAddress(c: Context): string | undefined {
    const forwarded = config.trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
    return forwarded || remoteAddress(c);
  }

  async function admit(c: Context): Promise<{ claims: AccessClaims } | { code: number; reason: string }> {
    if (draining) return { code: CloseCode.restarting, reason: 'server is restarting; reconnect' };
    const offered = subprotocols(c.req.header('sec-websocket-protocol'));
    const version = c.req.query('v') ?? (offered.includes(WS_SUBPROTOCOL) ? String(CLIENT_PROTOCOL_VERSION) : undefined);
    if (Number(version) !== CLIENT_PROTOCOL_VERSION) {
      return {
        code: CloseCode.badVersion,
        reason: `protocol version ${CLIENT_PROTOCOL_VERSION} required (got ${version ?? 'none'})`,
      };
    }
    const fromProtocol = offered
      .find((p) => p.startsWith(WS_TOKEN_SUBPROTOCOL_PREFIX))
      ?.slice(WS_TOKEN_SUBPROTOCOL_PREFIX.length);
    try {
      return { claims: await verifyToken(config.secret, c.req.query('token') ?? fromProtocol, config) };
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
      limits.close();
      community.close();
      debug.close();
      memberships.close();
      lobby.close();
      placement.close();
    },
  };
}

function subprotocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function socketOf(ws: WSContext) {
  return { send: (text: string) => ws.send(text), close: (code: number, reason: string) => ws.close(code, reason) };
}
