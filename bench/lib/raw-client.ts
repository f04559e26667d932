import WebSocket from 'ws';

/**
 * A bare protocol client for load: plain JSON, no schema validation, so a thousand of them in one process
 * measure the server rather than the tester's parsing.
 */
export class RawClient {
  private nextId = 1;
  private pending = new Map<number, (reply: { ok: boolean; data?: unknown; error?: unknown }) => void>();
  onNotification: (name: string, data: unknown) => void = () => undefined;

  private constructor(private ws: WebSocket) {
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as {
        id?: number;
        ok?: boolean;
        notification?: string;
        data?: unknown;
        error?: unknown;
      };
      if (msg.notification) return this.onNotification(msg.notification, msg.data);
      const done = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (done && msg.id !== undefined) {
        this.pending.delete(msg.id);
        done({ ok: msg.ok === true, data: msg.data, error: msg.error });
      }
    });
  }

  static open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    return withTimeout(
      'WebSocket open',
      new Promise((resolve, reject) => {
        ws.once('open', () => resolve(new RawClient(ws)));
        ws.once('error', reject);
      }),
    );
  }

  async request(method: string, data: unknown = {}): Promise<unknown> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, data }));
    const replied = new Promise<{ ok: boolean; data?: unknown; error?: unknown }>((resolve) => this.pending.set(id, resolve));
    const reply = await withTimeout(method, replied).finally(() => this.pending.delete(id));
    if (!reply.ok) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
    return reply.data;
  }

  close(): void {
    this.ws.close();
  }
}

/** A benchmark must report a lost reply, not wait for it forever. */
export function withTimeout<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `task` for 0..n-1 with at most `limit` in flight. */
export async function pool<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}
