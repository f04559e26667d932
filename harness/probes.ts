import WebSocket from 'ws';
import { DebugRoomsResponse, httpPaths } from '../protocol/http.ts';
import { token } from './cluster.ts';

/** What attack tests read of a running deployment: its metrics, its dashboard API, how a socket ends. */

/** An operator's token, minted with the test secret as `npm run token -- --admin` would. */
export function adminToken(): Promise<string> {
  return token('Ops', { admin: true });
}

/** One unlabelled series of signaling's /metrics (e.g. parley_signaling_memberships). */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

/** Peers the media workers hold in `roomId`, as the /debug API shows them. */
export async function mediaPeers(base: string, roomId: string): Promise<number> {
  const res = await fetch(`${base}${httpPaths.debugRooms}`, { headers: { authorization: `Bearer ${await adminToken()}` } });
  const body = DebugRoomsResponse.parse(await res.json());
  return body.rooms.filter((r) => r.roomId === roomId).reduce((n, r) => n + r.peers.length, 0);
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
