import { Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { Bus } from '../bus/bus.ts';
import { CLIENT_PROTOCOL_VERSION } from '../protocol/client.ts';
import { MediaClient } from './media.ts';
import { Placement } from './placement.ts';
import { Session } from './session.ts';

export interface SignalingOptions {
  bus: Bus;
  /** The runtime's WebSocket upgrade (hono/deno or @hono/node-ws): the only runtime-specific piece. */
  upgradeWebSocket: UpgradeWebSocket;
}

/** The runtime-free signaling app; node.ts and deno.ts wrap it the way Hono's own adapters do. */
export async function createSignalingApp({ bus, upgradeWebSocket }: SignalingOptions): Promise<Hono> {
  const deps = { bus, media: new MediaClient(bus), placement: await Placement.open(bus) };
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ ok: true }));

  app.get('/api/version', (c) => c.json({ protocol: CLIENT_PROTOCOL_VERSION }));

  app.get(
    '/ws',
    upgradeWebSocket((c) => {
      const version = Number(c.req.query('v'));
      let session: Session | undefined;
      return {
        onOpen(_event, ws) {
          if (version !== CLIENT_PROTOCOL_VERSION) {
            ws.close(4400, `protocol version ${CLIENT_PROTOCOL_VERSION} required (got ${c.req.query('v') ?? 'none'})`);
            return;
          }
          session = new Session(socketOf(ws), deps);
        },
        onMessage(event) {
          if (typeof event.data === 'string') void session?.onMessage(event.data);
          else session?.onBinary();
        },
        onClose() {
          void session?.onClose();
          session = undefined;
        },
      };
    }),
  );

  return app;
}

function socketOf(ws: WSContext): { send(text: string): void } {
  return { send: (text) => ws.send(text) };
}
