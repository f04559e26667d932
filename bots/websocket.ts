import type { ClientRequest } from 'node:http';
import WebSocket from 'ws';

/**
 * The `ws` package's WebSocket, offering subprotocols the way browsers do: `ws` joins them with "," and Deno's
 * server splits the header on ", " only (answering 500 otherwise). The client SDK's token travels as one.
 */
export class BrowserLikeWebSocket extends WebSocket {
  constructor(url: string, protocols: string[] = []) {
    super(url, protocols, {
      finishRequest: (request: ClientRequest) => {
        if (protocols.length > 0) request.setHeader('Sec-WebSocket-Protocol', protocols.join(', '));
        request.end();
      },
    });
  }
}
