import { createServer } from 'node:https';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import type { WebSocket, WebSocketServer } from 'ws';
import { WS_SUBPROTOCOL } from '../../protocol/client.ts';
import { MAX_CLIENT_MESSAGE_BYTES } from '../../protocol/limits.ts';
import { createSignaling } from '../app.ts';
import type { RunningServer, ServerOptions } from './server.ts';

/** The Node adapter: @hono/node-server plus @hono/node-ws around the runtime-free app. */
export async function serveSignalingOnNode(options: ServerOptions): Promise<RunningServer> {
  const outer = new Hono();
  const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app: outer });
  // ws buffers a whole message before anyone sees it (up to 100 MiB by default): larger ones are refused as
  // they arrive, with 1009. @hono/node-ws takes no ws options, so its server's are set here.
  wss.options.maxPayload = MAX_CLIENT_MESSAGE_BYTES;
  // A client offering subprotocols gets `parley.v1` back (never its `parley.token.*` one).
  wss.options.handleProtocols = (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false);
  const signaling = await createSignaling({
    bus: options.bus,
    config: options.config,
    upgradeWebSocket,
    traces: options.traces,
    remoteAddress: (c) => getConnInfo(c).remote.address,
  });
  outer.route('/', signaling.app);
  if (options.webRoot) serveWeb(outer, options.webRoot);
  const stopHeartbeat = heartbeat(wss, options.config.heartbeatS * 1000);

  const listen = { fetch: outer.fetch, port: options.port, hostname: options.hostname };
  const server = options.tls ? serve({ ...listen, createServer, serverOptions: options.tls }) : serve(listen);
  injectWebSocket(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const close = () =>
    new Promise<void>((resolve) => {
      stopHeartbeat();
      signaling.close();
      server.close(() => resolve());
      // Open WebSockets would keep close() waiting forever.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  return {
    url: `${options.tls ? 'https' : 'http'}://localhost:${port}`,
    port,
    drain: () => signaling.drain().then(close),
    close,
  };
}

/**
 * Pings every client each `intervalMs`; one that has not answered the previous ping is terminated, and its close
 * ends the connection as any other (the membership enters its grace period). Deno does the same by itself.
 */
function heartbeat(wss: WebSocketServer, intervalMs: number): () => void {
  const answered = new WeakSet<WebSocket>();
  const onConnection = (ws: WebSocket) => {
    answered.add(ws);
    ws.on('pong', () => answered.add(ws));
  };
  wss.on('connection', onConnection);
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!answered.delete(ws)) ws.terminate();
      else ws.ping();
    }
  }, intervalMs);
  return () => {
    clearInterval(timer);
    wss.off('connection', onConnection);
  };
}

function serveWeb(app: Hono, webRoot: string): void {
  const root = path.relative(process.cwd(), webRoot) || '.';
  app.use('/*', serveStatic({ root }));
  // Client-side routes (e.g. /room/name) get the app shell.
  app.get('/*', serveStatic({ root, path: 'index.html' }));
}
