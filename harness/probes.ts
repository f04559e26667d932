import http from 'node:http';
import WebSocket from 'ws';
import { DebugRoomsResponse, httpPaths } from '../protocol/http.ts';
import { token } from './cluster.ts';

/** What attack tests read of a running deployment: its metrics, its dashboard API, how a socket ends. */

/** An operator's token, minted with the test secret as `npm run token -- --admin` would. */
export function adminToken(): Promise<string> {
  return token('Ops', { admin: true });
}

/**
 * A series of a /metrics page that has one value per instance (e.g. parley_signaling_memberships{region}); with
 * `label` (e.g. `cause="pipe-return"`), the series whose labels include it, 0 when there is none yet.
 */
export async function metric(base: string, name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const labels = label ? `\\{[^}]*${label}[^}]*\\}` : '(?:\\{[^}]*\\})?';
  const value = new RegExp(`^${name}${labels} (\\S+)$`, 'm').exec(text)?.[1];
  if (value !== undefined) return Number(value);
  if (label) return 0;
  throw new Error(`no ${name} in /metrics`);
}

/** Every room part the media workers hold, as the /debug API shows them. */
export async function debugRooms(base: string): Promise<DebugRoomsResponse['rooms']> {
  const res = await fetch(`${base}${httpPaths.debugRooms}`, { headers: { authorization: `Bearer ${await adminToken()}` } });
  return DebugRoomsResponse.parse(await res.json()).rooms;
}

/** Peers the media workers hold in `roomId`, as the /debug API shows them. */
export async function mediaPeers(base: string, roomId: string): Promise<number> {
  return (await debugRooms(base)).filter((r) => r.roomId === roomId).reduce((n, r) => n + r.peers.length, 0);
}

/** How the server ends a socket it refuses: the close code and reason (or the HTTP status of a refused upgrade). */
export function closeOf(url: string, options?: WebSocket.ClientOptions, protocols?: string[]): Promise<[number, string]> {
  const ws = new WebSocket(url, protocols, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`the server kept ${url.replace(/token=[^&]+/, 'token=…')} open`));
    }, 10_000);
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve([res.statusCode ?? 0, `HTTP ${res.statusCode}`]);
      ws.terminate();
    });
    ws.once('error', () => undefined);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve([code, reason.toString()]);
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A WebSocket opened the way browsers open it: subprotocols joined with ", " (the ws library joins them with
 * "," only, which Deno's upgrade does not split). Sends one text frame and resolves with the subprotocol the
 * server chose and the first text frame it answered.
 */
export function browserStyleRequest(
  url: string,
  protocols: string[],
  text: string,
): Promise<{ protocol: string; reply: string }> {
  const target = new URL(url.replace(/^ws/, 'http'));
  const req = http.request(target, {
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': crypto.getRandomValues(Buffer.alloc(16)).toString('base64'),
      'sec-websocket-protocol': protocols.join(', '),
    },
  });
  return new Promise((resolve, reject) => {
    req.once('response', (res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    req.once('error', reject);
    req.once('upgrade', (res, socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const frame = readFrame(buffered);
        if (!frame) return;
        socket.destroy();
        resolve({ protocol: String(res.headers['sec-websocket-protocol'] ?? ''), reply: frame });
      });
      socket.write(maskedTextFrame(text));
    });
    req.end();
  });
}

/** A client frame must be masked (RFC 6455 5.3); short texts only (under 64 KiB). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = crypto.getRandomValues(Buffer.alloc(4));
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

/** The payload of the first complete unmasked text frame in `data`, if any. */
function readFrame(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  let length = data[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  return data.length >= offset + length ? data.subarray(offset, offset + length).toString() : undefined;
}
