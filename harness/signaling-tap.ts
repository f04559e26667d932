import type { Page } from 'playwright-core';
import type { UdpRelay } from './udp-relay.ts';

type Message = { id?: number; method?: string; data?: Record<string, unknown>; ok?: boolean };
type Candidate = { protocol: string; address?: string; ip?: string; port: number };

/**
 * Sends a page's media for its send transport through `relay`: the page's signaling WebSocket is routed
 * through the test (playwright's routeWebSocket), and the send transport's ICE candidates are replaced by
 * the relay's one UDP address, whose target becomes the server's UDP candidate. The app is unchanged; only
 * the network path differs, as with a real bottleneck in front of one publisher.
 */
export async function sendTransportVia(page: Page, relay: UdpRelay): Promise<void> {
  const sendTransportRequests = new Set<number>();
  await page.routeWebSocket(/\/ws\?/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((raw) => {
      const message = parse(raw);
      if (message?.method === 'createTransport' && message.data?.direction === 'send' && message.id !== undefined)
        sendTransportRequests.add(message.id);
      server.send(raw);
    });
    server.onMessage((raw) => {
      const message = parse(raw);
      if (message?.id === undefined || !sendTransportRequests.delete(message.id) || !message.ok || !message.data)
        return ws.send(raw);
      const candidates = message.data.iceCandidates as Candidate[];
      const udp = candidates.find((c) => c.protocol === 'udp');
      if (!udp) return ws.send(raw);
      relay.target = { host: udp.address ?? udp.ip ?? '127.0.0.1', port: udp.port };
      const viaRelay = { ...udp, address: '127.0.0.1', ip: '127.0.0.1', port: relay.port };
      ws.send(JSON.stringify({ ...message, data: { ...message.data, iceCandidates: [viaRelay] } }));
    });
  });
}

function parse(raw: string | Buffer): Message | undefined {
  try {
    return JSON.parse(raw.toString()) as Message;
  } catch {
    return undefined;
  }
}
