import { browserNetworkWatch, ParleyClient, readClaims, timeRegions } from '../../client/index.ts';
import type { Call, ClientError, TokenSource } from '../../client/index.ts';
import { ANY_ROOM } from '../../protocol/auth.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { DevTokenResponse, httpPaths } from '../../protocol/http.ts';
import { MAX_CHAT_CHARS } from '../../protocol/chat.ts';
import { browserCapture, describeCaptureError, watchDevices } from './capture.ts';
import { t } from './i18n/index.ts';
import type { MessageKey } from './i18n/index.ts';
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
const ICE_KEY = 'parley.ice';

/**
 * `?ice=relay` in the page address sends media through the deployment's TURN servers only (a network that lets
 * nothing else through, or checking that TURN works); kept for the tab, since joining rewrites the address.
 */
function iceTransportPolicy(): 'all' | 'relay' {
  const asked = new URLSearchParams(location.search).get('ice');
  if (asked === 'relay' || asked === 'all') sessionStorage.setItem(ICE_KEY, asked);
  return sessionStorage.getItem(ICE_KEY) === 'relay' ? 'relay' : 'all';
}

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
    errorMessage.value = () => t('error.badLink');
    return;
  }
  selfName.value = claims.name;
  if (claims.room !== ANY_ROOM) scopedRoom.value = claims.room;
  if (!(await connect(token))) return;
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
    await Promise.race([fastestRegion, new Promise((r) => setTimeout(r, REGION_WAIT_MS))]);
    const call = await client.join(room, { publish: ['microphone', 'camera'] });
    window.parley = { client, call, traces };
    // Our half of each trace goes to signaling, which keeps it with its own spans (members only: until we
    // join, spans wait in the exporter's bounded queue).
    const reporting = client;
    setSpanSink((spans) => reporting.request('reportSpans', { spans }));
    phase.value = 'joined';
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
  } catch (err) {
    phase.value = 'lobby';
    errorMessage.value = () => t('error.join', { room, reason: reasonOf(err) });
  }
}

export async function leaveRoom(): Promise<void> {
  if (!client?.call) return;
  phase.value = 'leaving';
  // Spans are accepted from members only: the call's go out before we leave (the leave's own are not kept).
  await flushSpans();
  setSpanSink(undefined);
  await client.leave();
  window.parley = { client, traces };
  phase.value = 'lobby';
}

/** A moderator removed us or ended the room: the call is over, back to where we came from. */
function afterRemoval(): void {
  void flushSpans();
  if (client) window.parley = { client, traces };
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

/** Sends a chat message in the current room; rejects with the server's typed error. */
export async function sendChat(text: string): Promise<void> {
  const call = client?.call;
  if (!call) throw new ParleyError('NOT_JOINED', 'not in a room');
  await call.chat.send(text);
}

/** A moderator's action on the current room; a refusal is shown like any other error. */
export function moderate(action: (moderator: Call['moderator']) => Promise<void>): void {
  const call = client?.call;
  if (call) action(call.moderator).catch(reportError('moderate'));
}

/** For a button's action that failed: what it was, and why in the user's words. */
export function reportError(action: 'microphone' | 'camera' | 'screen' | 'moderate') {
  return (err: unknown) => {
    errorMessage.value = () => t('error.action', { action: t(`action.${action}`), reason: reasonOf(err) });
  };
}

/** A chat message that was not sent, in a sentence. */
export function describeChatError(err: unknown): string {
  const code = err instanceof ParleyError ? err.code : undefined;
  if (code === 'PAYLOAD_TOO_LARGE') return t('chat.error.tooLong', { max: MAX_CHAT_CHARS });
  if (code === 'RATE_LIMITED') return t('chat.error.tooFast');
  if (code === 'FORBIDDEN') return t('chat.error.notAllowed');
  return t('chat.error.other', { reason: reasonOf(err) });
}

/** Why a request failed, from its typed code (the server's own message is English, for operators). */
export function reasonOf(err: unknown): string {
  if (!(err instanceof ParleyError)) return t('code.unknown');
  return t(`code.${err.code}` satisfies MessageKey, { reason: err.message });
}

async function connect(token: TokenSource): Promise<boolean> {
  errorMessage.value = null;
  client?.close();
  try {
    client = await ParleyClient.connect({
      url: location.origin,
      token,
      capture: browserCapture,
      store: signalStore,
      tracer: webTracer,
      network: browserNetworkWatch(),
      media: { iceTransportPolicy: iceTransportPolicy() },
    });
  } catch (err) {
    const needsToken = err instanceof Error && err.message === NEEDS_TOKEN;
    errorMessage.value = () => t(needsToken ? 'error.needsToken' : 'error.connect');
    return false;
  }
  client.on('error', (e) => {
    // A producer that closed before we consumed it is a race the user need not hear about.
    if (e.kind === 'consume' && e.code === 'NOT_FOUND') return;
    if (e.kind === 'removed') afterRemoval();
    errorMessage.value = () => describe(e);
  });
  window.parley = { client, traces };
  watchDevices();
  fastestRegion = pickRegion(client);
  return true;
}

/** Timing the regions, started on connect; a join waits for it a little at most. */
let fastestRegion: Promise<void> = Promise.resolve();
const REGION_WAIT_MS = 1500;

/** With several regions, media goes to the one this browser reaches fastest (not where signaling answered). */
async function pickRegion(target: ParleyClient): Promise<void> {
  const timings = await timeRegions(location.origin).catch(() => []);
  const [best] = timings;
  if (timings.length > 1 && best && Number.isFinite(best.rttMs)) target.media.region = best.region;
}

async function openLobby(): Promise<void> {
  try {
    await client?.subscribeLobby();
  } catch (err) {
    errorMessage.value = () => t('error.lobby', { reason: reasonOf(err) });
  }
}

function describe(e: ClientError): string {
  switch (e.kind) {
    case 'capture':
      return describeCaptureError(e.feed, e.error);
    case 'device-lost':
      return t(e.replaced ? 'error.deviceReplaced' : 'error.deviceGone', { source: t(`source.${e.source}`) });
    case 'consume':
      return t('error.consume', { source: t(`source.${e.source}`) });
    case 'connection':
      return t(e.reason === 'taken-over' ? 'error.takenOver' : 'error.connectionLost');
    case 'removed':
      if (e.roomEnded) return t('error.roomEnded', { reason: e.reason });
      return e.by ? t('error.removed', { by: e.by, reason: e.reason }) : t('error.removedByServer', { reason: e.reason });
  }
}

const NEEDS_TOKEN = 'this server needs an access token';

async function fetchDevToken(name: string): Promise<string> {
  const res = await fetch(httpPaths.devToken, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = DevTokenResponse.safeParse(await res.json().catch(() => null));
  if (!res.ok || !body.success) throw new Error(NEEDS_TOKEN);
  return body.data.token;
}

// Closing the tab leaves at once, rather than after the resume grace period; finished spans go out with it.
addEventListener('pagehide', () => {
  void flushSpans();
  void client?.call?.leave();
});
