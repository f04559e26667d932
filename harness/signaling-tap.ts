import type { Page } from 'playwright-core';
import type { UdpRelay } from './udp-relay.ts';

export type Message = { id?: number; method?: string; data?: Record<string, unknown>; ok?: boolean; notification?: string };

/** What a tap does with one message: pass it (changed or not), or drop it (`null`), optionally answering itself. */
export interface Tap {
  /** Page → server. `reply` answers the page in the server's place (for a request that is dropped). */
  toServer?: (message: Message, reply: (data: unknown) => void) => Message | null;
  /** Server → page. */
  toPage?: (message: Message) => Message | null;
}

/**
 * Routes a page's signaling WebSocket through the test (playwright's routeWebSocket) so a test can change, drop
 * or answer messages: the faults a bot injects through the SDK's request middleware, for the unchanged web app.
 * Call before the page opens the WebSocket.
 */
export async function tapSignaling(page: Page, tap: Tap): Promise<void> {
  await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((raw) => {
      const message = parse(raw);
      if (!message || !tap.toServer) return server.send(raw);
      const reply = (data: unknown) => ws.send(JSON.stringify({ id: message.id, ok: true, data }));
      const out = tap.toServer(message, reply);
      if (out) server.send(out === message ? raw : JSON.stringify(out));
    });
    server.onMessage((raw) => {
      const message = parse(raw);
      if (!message || !tap.toPage) return ws.send(raw);
      const out = tap.toPage(message);
      if (out) ws.send(out === message ? raw : JSON.stringify(out));
    });
  });
}

type Candidate = { protocol: string; address?: string; ip?: string; port: number };

/**
 * Sends a page's media for its send transport through `relay`: the send transport's ICE candidates are replaced
 * by the relay's one UDP address, whose target becomes the server's UDP candidate. The app is unchanged; only the
 * network path differs, as with a real bottleneck in front of one publisher.
 */
export function sendTransportVia(page: Page, relay: UdpRelay): Promise<void> {
  const sendTransportRequests = new Set<number>();
  return tapSignaling(page, {
    toServer: (message) => {
      if (message.method === 'createTransport' && message.data?.direction === 'send' && message.id !== undefined)
        sendTransportRequests.add(message.id);
      return message;
    },
    toPage: (message) => {
      if (message.id === undefined || !sendTransportRequests.delete(message.id) || !message.ok || !message.data) return message;
      const udp = (message.data.iceCandidates as Candidate[]).find((c) => c.protocol === 'udp');
      if (!udp) return message;
      relay.target = { host: udp.address ?? udp.ip ?? '127.0.0.1', port: udp.port };
      const viaRelay = { ...udp, address: '127.0.0.1', ip: '127.0.0.1', port: relay.port };
      return { ...message, data: { ...message.data, iceCandidates: [viaRelay] } };
    },
  });
}

function parse(raw: string | Buffer): Message | undefined {
  try {
    return JSON.parse(raw.toString()) as Message;
  } catch {
    return undefined;
  }
}
