import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { receiveWebhook } from '../server-sdk/index.ts';
import type { WebhookEvent } from '../protocol/webhooks.ts';
import { webhookHeaders } from '../protocol/webhooks.ts';

export interface ReceivedWebhook {
  event: WebhookEvent;
  attempt: number;
  /** The delivering signaling instance (from its user agent). */
  instance: string;
  at: number;
}

interface Held {
  received: ReceivedWebhook;
  release(): void;
}

/**
 * A webhook receiver as an integrator would run one: a real HTTP server that checks every signature with the
 * server SDK (a bad one is answered 401 and counted) and answers 2xx on `/hooks`, 400 on `/reject`. It can be
 * taken down (every connection is reset, as a crashed service's would be) and can hold the next delivery
 * unanswered, so a test can kill the instance sending it.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  invalid = 0;
  private down = false;
  private holding?: { matches: (event: WebhookEvent) => boolean; take: (held: Held) => void };
  private sockets = new Set<Socket>();

  private constructor(
    private server: http.Server,
    private secret: string,
  ) {}

  static async start(secret: string): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server, secret);
    server.on('connection', (socket) => {
      if (receiver.down) return socket.destroy();
      receiver.sockets.add(socket);
      socket.on('close', () => receiver.sockets.delete(socket));
    });
    server.on('request', (req, res) => void receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** An outage: open connections are cut and new ones reset until `up()`. */
  takeDown(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
  }

  bringUp(): void {
    this.down = false;
  }

  /** The next valid delivery that `matches` is held unanswered; resolves with it and a way to answer it. */
  holdNext(matches: (event: WebhookEvent) => boolean): Promise<Held> {
    return new Promise((take) => (this.holding = { matches, take }));
  }

  /** How many times each event id arrived (valid deliveries answered 2xx). */
  countsById(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.received) counts.set(r.event.id, (counts.get(r.event.id) ?? 0) + 1);
    return counts;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === '/reject') return void res.writeHead(400).end('no');
    let event: WebhookEvent;
    try {
      event = await receiveWebhook(this.secret, Buffer.concat(chunks).toString(), header(req, webhookHeaders.signature));
    } catch {
      this.invalid++;
      return void res.writeHead(401).end();
    }
    const received: ReceivedWebhook = {
      event,
      attempt: Number(header(req, webhookHeaders.attempt)),
      instance: (header(req, 'user-agent') ?? '').replace('parley-signaling/', ''),
      at: Date.now(),
    };
    const holding = this.holding;
    if (holding?.matches(event)) {
      this.holding = undefined;
      // Whatever the instance does meanwhile, this delivery counts only if it is answered.
      return holding.take({ received, release: () => res.writeHead(204).end() });
    }
    this.received.push(received);
    res.writeHead(204).end();
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
