import WebSocket from 'ws';
import { ServerMessage } from '../protocol/client.ts';
import type { ClientNotification, ClientResponse } from '../protocol/client.ts';

/** A raw protocol client for tests: sends any text, collects responses by id and notifications. */
export class TestClient {
  readonly notifications: ClientNotification[] = [];
  private responses: ClientResponse[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const message = ServerMessage.parse(JSON.parse(String(raw)));
      if ('notification' in message) this.notifications.push(message);
      else this.responses.push(message);
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('error', reject);
    });
  }

  /** With `traceparent`, the request continues that trace, as a browser's does. */
  async request(method: string, data: unknown = {}, traceparent?: string): Promise<ClientResponse> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, data, traceparent }));
    return this.until(() => this.responses.find((r) => r.id === id));
  }

  /** Sends raw text and returns the next response that has no matching request id. */
  async sendRaw(text: string): Promise<ClientResponse> {
    const before = this.responses.length;
    this.ws.send(text);
    return this.until(() => this.responses.slice(before).find((r) => r.id === null));
  }

  /** Sends `count` raw frames at once and returns the next `count` responses. */
  async burst(count: number, text: (i: number) => string): Promise<ClientResponse[]> {
    const before = this.responses.length;
    for (let i = 0; i < count; i++) this.ws.send(text(i));
    return this.until(
      () => (this.responses.length - before >= count ? this.responses.slice(before, before + count) : undefined),
      30_000,
    );
  }

  async notification(name: ClientNotification['notification'], timeoutMs?: number): Promise<ClientNotification> {
    return this.until(() => this.notifications.find((n) => n.notification === name), timeoutMs);
  }

  close(): void {
    this.ws.close();
  }

  async until<T>(find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('timed out waiting for a server message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
