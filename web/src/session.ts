import { Call } from './media/call.ts';
import { CloseCode } from '../../protocol/close-codes.ts';
import { Connection } from './media/connection.ts';
import { describeCaptureError, watchDevices } from './media/devices.ts';
import { connection, errorMessage, lobby, phase, roomName, selfName, selfPeerId } from './state.ts';
import { action, flushSpans, setSpanSink, traces } from './telemetry/tracing.ts';

/** The signaling connection (opened once the user gave a name) and the current call, if any. */
let conn: Connection | undefined;
let call: Call | undefined;
let lastCloseCode = 0;
/**
 * The access token is kept for reconnects: a resume must come from the same identity, and a dev token's
 * identity is new each time. It is fetched again only after the server refused it (expired).
 */
let token: string | undefined;

declare global {
  interface Window {
    /** For the debug console and the end-to-end tests; `traces()`: trace ids of the latest actions by name. */
    parley?: { call?: Call; connection?: Connection; traces: () => Record<string, string> };
  }
}

/** Opens the lobby: a token for this name, the WebSocket, the live room list. Nothing is captured yet. */
export async function enterLobby(name: string): Promise<void> {
  errorMessage.value = null;
  selfName.value = name;
  localStorage.setItem('parley.name', name);
  conn?.close();
  connection.value = 'connecting';
  try {
    token = undefined;
    conn = await Connection.open(async () => (token ??= await accessToken(name)), {
      notification: (n) => (n.notification === 'lobby' ? (lobby.value = n.data) : call?.onNotification(n)),
      lost: (_reason, code) => {
        lastCloseCode = code;
        if (code === CloseCode.unauthorized) token = undefined;
        connection.value = 'reconnecting';
        call?.onSignalingLost();
      },
      reopened: async (trace) => {
        lobby.value = await requireConnection().request('subscribeLobby', {}, trace);
        if (call) await call.onSignalingReopened(lastCloseCode === CloseCode.mediaLost, trace);
        else connection.value = 'connected';
      },
      failed: (reason) => {
        connection.value = 'failed';
        errorMessage.value = `Connection lost: ${reason}`;
      },
    });
    window.parley = { connection: conn, traces };
    const reporting = conn;
    // Our half of each trace goes to signaling, which keeps it with its own spans.
    setSpanSink((spans) => reporting.request('reportSpans', { spans }));
    lobby.value = await conn.request('subscribeLobby', {});
    connection.value = 'connected';
    watchDevices();
  } catch (err) {
    connection.value = 'failed';
    errorMessage.value = `Could not connect: ${(err as Error).message}`;
  }
}

/** Join connects media: transports, then microphone and camera. */
export async function joinRoom(room: string): Promise<void> {
  const connection = requireConnection();
  const startedAt = performance.now();
  errorMessage.value = null;
  phase.value = 'joining';
  roomName.value = room;
  try {
    // One trace from the click to microphone and camera published: join, transports, consumers, produces.
    await action('join', { 'parley.room': room }, undefined, async (ctx, span) => {
      const joined = await Call.join(connection, room, startedAt, ctx);
      if (selfPeerId.value) span.setAttribute('parley.peer', selfPeerId.value);
      call = joined;
      window.parley = { call: joined, connection, traces };
      phase.value = 'joined';
      history.replaceState(null, '', `?room=${encodeURIComponent(room)}${tokenParam()}`);
      await Promise.all([joined.setFeed('microphone', true, ctx), joined.setFeed('camera', true, ctx)]);
    });
  } catch (err) {
    call = undefined;
    phase.value = 'lobby';
    errorMessage.value = `Could not join ${room}: ${(err as Error).message}`;
  }
}

export async function leaveRoom(): Promise<void> {
  const leaving = call;
  if (!leaving) return;
  phase.value = 'leaving';
  await leaving.leave();
  void flushSpans();
  call = undefined;
  window.parley = { connection: conn, traces };
  phase.value = 'lobby';
  if (conn?.isOpen) connection.value = 'connected';
}

/** The Retry button after `failed`. */
export function retryConnection(): void {
  errorMessage.value = null;
  connection.value = 'reconnecting';
  conn?.retry();
}

export function currentCall(): Call | undefined {
  return call;
}

export function reportError(what: string) {
  return (err: unknown) => (errorMessage.value = describeCaptureError(what, err));
}

function requireConnection(): Connection {
  if (!conn) throw new Error('not connected');
  return conn;
}

function tokenParam(): string {
  const token = new URLSearchParams(location.search).get('token');
  return token ? `&token=${encodeURIComponent(token)}` : '';
}

/**
 * A deployment hands users a token (e.g. in the page URL, `?token=`); the embedded default also offers
 * development tokens for any name. Asked again on every reconnect, so an expired dev token is renewed.
 */
async function accessToken(name: string): Promise<string> {
  const given = new URLSearchParams(location.search).get('token');
  if (given) return given;
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!res.ok) throw new Error('this server needs an access token in the page address (?token=…)');
  return ((await res.json()) as { token: string }).token;
}

// Closing the tab leaves at once, rather than after the resume grace period; finished spans go out with it.
addEventListener('pagehide', () => {
  void call?.leave();
  void flushSpans();
});
