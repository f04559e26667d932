import { INVALID_SPAN_CONTEXT } from '@opentelemetry/api';
import type { ChatHead, ChatMessage } from '../protocol/chat.ts';
import type { SelfState } from '../protocol/moderation.ts';
import type { Lobby } from '../protocol/presence.ts';
import type { Source } from '../protocol/room.ts';
import type { ConsumerNotice } from '../protocol/publisher.ts';
import { ROOT_CONTEXT, trace } from '../tracing/context.ts';
import type { Attributes, Context, Span } from '../tracing/context.ts';

/*
 * What differs per host (a browser page, a Node bot, an integrator's app) is handed to the client through the
 * small interfaces here: where tracks come from, where state goes, how actions are traced.
 */

/** What a user turns on and off; `screen` brings `screen-audio` along when the browser offers it. */
export type Feed = 'microphone' | 'camera' | 'screen';
export type CaptureSource = 'microphone' | 'camera';

/** Where tracks come from: getUserMedia/getDisplayMedia in a browser, synthetic sources in a bot. */
export interface Capture {
  /** A microphone or camera track; `deviceId` '' means "the default one", undefined "the chosen one". */
  track(source: CaptureSource, deviceId?: string): Promise<MediaStreamTrack>;
  /** A screen (window, tab) and its audio when there is some. */
  screen(): Promise<{ video: MediaStreamTrack; audio?: MediaStreamTrack }>;
  /** The call stopped a track it got from here: release what feeds it (a synthetic generator, say). */
  release?(track: MediaStreamTrack): void;
}

export interface RemoteTrack {
  producerId: string;
  consumerId: string;
  source: Source;
  track: MediaStreamTrack;
  /** The sender paused it (e.g. microphone muted). */
  paused: boolean;
}

export interface RemotePeer {
  id: string;
  displayName: string;
  tracks: RemoteTrack[];
}

/**
 * Tells the client that the device's network changed (back online, another interface, Wi-Fi → cellular), so it
 * checks signaling and restarts ICE at once instead of waiting for ICE to fail. A browser has
 * `browserNetworkWatch()`; Node bots have no such events and pass none.
 */
export interface NetworkWatch {
  /** Calls `changed` on each change (`what` names the event, for the trace); returns what stops watching. */
  watch(changed: (what: string) => void): () => void;
}

/** The signaling connection and the media transports folded into what a user is shown. */
export type ConnectionState = 'offline' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** Everything the client knows that a UI shows; written only by the client. */
export interface ClientState {
  connection: ConnectionState;
  lobby: Lobby | null;
  room: string | null;
  selfPeerId: string | null;
  peers: RemotePeer[];
  localTracks: Partial<Record<Source, MediaStreamTrack>>;
  microphoneMuted: boolean;
  /** Feeds whose start or stop is under way. */
  pendingFeeds: ReadonlySet<Feed>;
  activeSpeaker: string | null;
  /** Peers above the speaking threshold in the latest audio-levels report. */
  speaking: ReadonlySet<string>;
  /** Peers still in the room that cannot be reached now (the link to their region is down): show them so. */
  unreachable: ReadonlySet<string>;
  /** The doctor's word on each of our consumers that shows no (or a frozen) picture, by consumer id. */
  notices: ReadonlyMap<string, ConsumerNotice>;
  /** The room's chat, oldest first (what was kept before we joined, then everything since). */
  chat: ChatMessage[];
  /** What we may do in the room now: grants (as moderators changed them) and sources a moderator locked. */
  self: SelfState | null;
  /** Per room, its chat head when we last were in it: the lobby's unread counts start from here. */
  chatRead: Record<string, ChatHead>;
}

/** Where the client keeps its state: a plain object by default, a UI framework's signals in the web app. */
export interface StateStore {
  get<K extends keyof ClientState>(key: K): ClientState[K];
  set<K extends keyof ClientState>(key: K, value: ClientState[K]): void;
}

export function initialState(): ClientState {
  return {
    connection: 'offline',
    lobby: null,
    room: null,
    selfPeerId: null,
    peers: [],
    localTracks: {},
    microphoneMuted: false,
    pendingFeeds: new Set(),
    activeSpeaker: null,
    speaking: new Set(),
    unreachable: new Set(),
    notices: new Map(),
    chat: [],
    self: null,
    chatRead: {},
  };
}

/** The default store: a plain object, and a callback per change for whoever wants one. */
export function memoryStore(onChange?: <K extends keyof ClientState>(key: K, value: ClientState[K]) => void): StateStore {
  const state = initialState();
  return {
    get: (key) => state[key],
    set: (key, value) => {
      state[key] = value;
      onChange?.(key, value);
    },
  };
}

/**
 * How the client traces what it does: one trace per user action (join, publish, resume…), a client span per
 * request made inside one. The web app records them and sends them to signaling; the default records nothing.
 */
export interface ClientTracer {
  action<T>(
    name: string,
    attributes: Attributes,
    parent: Context | undefined,
    fn: (ctx: Context, span: Span) => Promise<T>,
  ): Promise<T>;
  request<T>(method: string, parent: Context, fn: (ctx: Context) => Promise<T>): Promise<T>;
  /** Attributes added to every span of the current call (`undefined` clears one). */
  scope(attributes: Record<string, string | undefined>): void;
}

const nothing = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export const noTracer: ClientTracer = {
  action: (_name, _attributes, parent, fn) => fn(parent ?? ROOT_CONTEXT, nothing),
  request: (_method, parent, fn) => fn(parent),
  scope: () => undefined,
};

/** Whether `ctx` belongs to a recorded action (otherwise requests go untraced). */
export function isTraced(ctx: Context | undefined): ctx is Context {
  return !!ctx && trace.getSpan(ctx)?.isRecording() === true;
}
