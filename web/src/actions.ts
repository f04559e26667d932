import { ParleyClient, readClaims } from '../../client/index.ts';
import type { Call, ClientError } from '../../client/index.ts';
import { ANY_ROOM } from '../../protocol/auth.ts';
import { DevTokenResponse, httpPaths } from '../../protocol/http.ts';
import { browserCapture, describeCaptureError, watchDevices } from './capture.ts';
import { errorMessage, phase, roomName, scopedRoom, selfName, signalStore } from './state.ts';
import { flushSpans, setSpanSink, traces, webTracer } from './telemetry/tracing.ts';

/** The signaling connection (opened once we know who the user is) and its current call, if any. */
let client: ParleyClient | undefined;

declare global {
  interface Window {
    /** For the debug console and the end-to-end tests; `traces()`: trace ids of the latest actions by name. */
    parley?: { client?: ParleyClient; call?: Call; traces: () => Record<string, string> };
  }
}

const TOKEN_KEY = 'parley.token';

/**
 * A token the deployment handed over in the page address (`#token=…`, or `?token=…`) is kept for this tab only
 * and removed from the address bar at once: a shared or bookmarked URL must not carry an identity.
 */
export function takeGivenToken(): string | undefined {
  const url = new URL(location.href);
  const hash = new URLSearchParams(url.hash.slice(1));
  const given = hash.get('token') ?? url.searchParams.get('token');
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    hash.delete('token');
    url.searchParams.delete('token');
    url.hash = hash.toString();
    history.replaceState(null, '', url);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** The page was opened with a deployment's token: its name, and its room when the token is for one room only. */
export async function startWithToken(token: string): Promise<void> {
  const claims = readClaims(token);
  if (!claims) {
    sessionStorage.removeItem(TOKEN_KEY);
    errorMessage.value = 'The access token in the link is not valid. Ask for a new link.';
    return;
  }
  selfName.value = claims.name;
  if (claims.room !== ANY_ROOM) scopedRoom.value = claims.room;
  if (!(await connect(async () => token))) return;
  if (claims.room === ANY_ROOM) await openLobby();
  else await joinRoom(claims.room);
}

/** Development servers: a token for this name from the server, then the lobby. Nothing is captured yet. */
export async function enterLobby(name: string): Promise<void> {
  selfName.value = name;
  localStorage.setItem('parley.name', name);
  let token: string | undefined;
  // Asked again after the server refused it (expired): a dev token's identity is new each time.
  const devToken = async ({ refused }: { refused: boolean }) => {
    if (refused || !token) token = await fetchDevToken(name);
    return token;
  };
  if (await connect(devToken)) await openLobby();
}

/** Join connects media: transports, then microphone and camera, in one trace from the click. */
export async function joinRoom(room: string): Promise<void> {
  if (!client) return;
  errorMessage.value = null;
  phase.value = 'joining';
  roomName.value = room;
  try {
    const call = await client.join(room, { publish: ['microphone', 'camera'] });
    window.parley = { client, call, traces };
    phase.value = 'joined';
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
  } catch (err) {
    phase.value = 'lobby';
    errorMessage.value = `Could not join ${room}: ${(err as Error).message}`;
  }
}

export async function leaveRoom(): Promise<void> {
  if (!client?.call) return;
  phase.value = 'leaving';
  await client.leave();
  void flushSpans();
  window.parley = { client, traces };
  phase.value = 'lobby';
}

/** The Retry button after `failed`. */
export function retryConnection(): void {
  errorMessage.value = null;
  void client?.reconnect().catch(() => undefined);
}

export function currentCall(): Call | undefined {
  return client?.call;
}

export function reportError(what: string) {
  return (err: unknown) => (errorMessage.value = describeCaptureError(what, err));
}

async function connect(token: (info: { refused: boolean }) => Promise<string>): Promise<boolean> {
  errorMessage.value = null;
  client?.close();
  try {
    client = await ParleyClient.connect({
      url: location.origin,
      token,
      capture: browserCapture,
      store: signalStore,
      tracer: webTracer,
    });
  } catch (err) {
    errorMessage.value = `Could not connect: ${(err as Error).message}`;
    return false;
  }
  client.on('error', (e) => (errorMessage.value = describe(e)));
  window.parley = { client, traces };
  const reporting = client;
  // Our half of each trace goes to signaling, which keeps it with its own spans.
  setSpanSink((spans) => reporting.request('reportSpans', { spans }));
  watchDevices();
  return true;
}

async function openLobby(): Promise<void> {
  try {
    await client?.subscribeLobby();
  } catch (err) {
    errorMessage.value = `Could not open the lobby: ${(err as Error).message}`;
  }
}

function describe(e: ClientError): string {
  switch (e.kind) {
    case 'capture':
      return describeCaptureError(e.feed, e.error);
    case 'device-lost':
      return e.replaced
        ? `The ${e.source} was disconnected; switched to another one.`
        : `The ${e.source} was disconnected and no other was found.`;
    case 'consume':
      return `could not receive ${e.source}: ${e.message}`;
    case 'connection':
      return `Connection lost: ${e.message}`;
    case 'removed':
      return `You were removed: ${e.reason}`;
  }
}

async function fetchDevToken(name: string): Promise<string> {
  const res = await fetch(httpPaths.devToken, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = DevTokenResponse.safeParse(await res.json().catch(() => null));
  if (!res.ok || !body.success) throw new Error('this server needs an access token: open the link your deployment gave you');
  return body.data.token;
}

// Closing the tab leaves at once, rather than after the resume grace period; finished spans go out with it.
addEventListener('pagehide', () => {
  void client?.call?.leave();
  void flushSpans();
});
