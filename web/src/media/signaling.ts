import { CLIENT_PROTOCOL_VERSION, ServerMessage } from '../../../protocol/client.ts';
import type {
  ClientMethod,
  ClientNotification,
  ClientRequestData,
  ClientResponseData,
} from '../../../protocol/client.ts';
import { ParleyError } from '../../../protocol/errors.ts';

type NotificationHandler = (notification: ClientNotification) => void;

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The browser's end of the signaling WebSocket: typed requests with ids, and notifications. */
export class SignalingClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();

  private constructor(
    private ws: WebSocket,
    private onNotification: NotificationHandler,
    private onClose: (reason: string) => void,
  ) {
    ws.addEventListener('message', (e) => this.receive(String(e.data)));
    ws.addEventListener('close', (e) => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      this.onClose(e.reason || `closed (${e.code})`);
    });
  }

  static open(onNotification: NotificationHandler, onClose: (reason: string) => void): Promise<SignalingClient> {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws?v=${CLIENT_PROTOCOL_VERSION}`);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new SignalingClient(ws, onNotification, onClose)), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot reach the signaling server')), { once: true });
    });
  }

  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>): Promise<ClientResponseData<M>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, data }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as ClientResponseData<M>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  close(): void {
    this.ws.close(1000, 'left');
  }

  private receive(text: string): void {
    const parsed = ServerMessage.safeParse(JSON.parse(text));
    if (!parsed.success) return console.warn('ignoring malformed server message', text);
    const message = parsed.data;
    if ('notification' in message) {
      this.onNotification(message);
      return;
    }
    if (message.id === null) return console.warn('server error', message);
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.data);
    else pending.reject(ParleyError.from(message.error));
  }
}
