import { createServer } from 'node:https';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { createSignaling } from '../app.ts';
import type { RunningServer, ServerOptions } from './server.ts';

/** The Node adapter: @hono/node-server plus @hono/node-ws around the runtime-free app. */
export async function serveSignalingOnNode(options: ServerOptions): Promise<RunningServer> {
  const outer = new Hono();
  const { injectWebSocket, upgradeWebSocket } = createNodeWebSocket({ app: outer });
  const signaling = await createSignaling({ bus: options.bus, config: options.config, upgradeWebSocket, traces: options.traces });
  outer.route('/', signaling.app);
  if (options.webRoot) serveWeb(outer, options.webRoot);

  const listen = { fetch: outer.fetch, port: options.port, hostname: options.hostname ?? '0.0.0.0' };
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

function serveWeb(app: Hono, webRoot: string): void {
  const root = path.relative(process.cwd(), webRoot) || '.';
  app.use('/*', serveStatic({ root }));
  // Client-side routes (e.g. /room/name) get the app shell.
  app.get('/*', serveStatic({ root, path: 'index.html' }));
}
