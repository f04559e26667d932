import { Hono } from 'hono';
import { getConnInfo, serveStatic, upgradeWebSocket } from 'hono/deno';
import { createSignaling } from '../app.ts';
import type { RunningServer, ServerOptions } from './server.ts';

/** The Deno adapter: Deno.serve and hono/deno's WebSocket upgrade around the runtime-free app, as node.ts does. */
export async function serveSignalingOnDeno(options: ServerOptions): Promise<RunningServer> {
  const app = new Hono();
  const { bus, config, traces } = options;
  // Deno's WebSocket has no message size option: signaling closes oversized frames (1009) once they arrive.
  const remoteAddress = (c: Parameters<typeof getConnInfo>[0]) => getConnInfo(c).remote.address;
  // Deno pings a WebSocket itself and closes one that has not answered within idleTimeout (its default is 30 s).
  const upgradeOptions = { idleTimeout: config.heartbeatS };
  const signaling = await createSignaling({ bus, config, upgradeWebSocket, upgradeOptions, traces, remoteAddress });
  app.route('/', signaling.app);
  if (options.webRoot) {
    app.use('/*', serveStatic({ root: options.webRoot }));
    // Client-side routes (e.g. /room/name) get the app shell.
    app.get('/*', serveStatic({ root: options.webRoot, path: 'index.html' }));
  }
  const { tls } = options;
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { port: options.port, hostname: options.hostname, ...tls, onListen: ({ port }) => listening.resolve(port) },
    app.fetch,
  );
  const port = await listening.promise;
  const close = async () => {
    signaling.close();
    await server.shutdown();
  };
  return {
    url: `${tls ? 'https' : 'http'}://localhost:${port}`,
    port,
    drain: () => signaling.drain().then(close),
    close,
  };
}
