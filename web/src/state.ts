import { computed, effect, signal } from '@preact/signals';
import type { Signal } from '@preact/signals';
import type { ClientState, StateStore } from '../../client/index.ts';
import { initialState } from '../../client/index.ts';

export type { ConnectionState, RemotePeer, RemoteTrack } from '../../client/index.ts';

export type Phase = 'lobby' | 'joining' | 'joined' | 'leaving';
export type DeviceKind = 'audioinput' | 'videoinput' | 'audiooutput';

/** The client SDK's state, one signal per key: the client writes them, components read them. */
const initial = initialState();
const client: { [K in keyof ClientState]: Signal<ClientState[K]> } = {
  connection: signal(initial.connection),
  lobby: signal(initial.lobby),
  room: signal(initial.room),
  selfPeerId: signal(initial.selfPeerId),
  peers: signal(initial.peers),
  localTracks: signal(initial.localTracks),
  microphoneMuted: signal(initial.microphoneMuted),
  pendingFeeds: signal(initial.pendingFeeds),
  activeSpeaker: signal(initial.activeSpeaker),
  speaking: signal(initial.speaking),
  unreachable: signal(initial.unreachable),
  notices: signal(initial.notices),
  chat: signal(initial.chat),
  self: signal(initial.self),
  chatRead: signal(loadChatRead()),
};

/** The SDK's state store bound to the signals above. */
export const signalStore: StateStore = {
  get: (key) => client[key].value,
  set: (key, value) => {
    client[key].value = value;
  },
};

export const connection = client.connection;
export const lobby = client.lobby;
export const selfPeerId = client.selfPeerId;
export const remotePeers = client.peers;
export const localTracks = client.localTracks;
export const microphoneMuted = client.microphoneMuted;
/** A feed whose start or stop is under way, so its button can show it. */
export const pendingSources = client.pendingFeeds;
export const activeSpeaker = client.activeSpeaker;
export const speaking = client.speaking;
export const unreachablePeers = client.unreachable;
export const notices = client.notices;
export const chatMessages = client.chat;
export const selfState = client.self;
export const chatRead = client.chatRead;
// What was read where survives a reload, so the lobby's unread counts do too.
effect(() => localStorage.setItem('parley.chatRead', JSON.stringify(chatRead.value)));

/** The UI's own state: only actions.ts and the components write these. */
export const phase = signal<Phase>('lobby');
export const roomName = signal('');
/** The one room the page's token allows (no lobby then), or null for an any-room token. */
export const scopedRoom = signal<string | null>(null);
export const selfName = signal('');
export const devices = signal<MediaDeviceInfo[]>([]);
export const selectedDevices = signal<Partial<Record<DeviceKind, string>>>(loadSelectedDevices());
export const showStats = signal(false);
export const showDevices = signal(false);
/** The chat panel: open by default where there is room beside the tiles. */
export const showChat = signal(typeof matchMedia === 'function' && matchMedia('(min-width: 900px)').matches);
/** The error to show, as a function so it is worded in the language chosen when it is shown. */
export const errorMessage = signal<(() => string) | null>(null);

export const screenShares = computed(() =>
  remotePeers.value.flatMap((peer) => peer.tracks.filter((t) => t.source === 'screen').map((track) => ({ peer, track }))),
);

function loadChatRead(): ClientState['chatRead'] {
  try {
    return JSON.parse(localStorage.getItem('parley.chatRead') ?? '{}') as ClientState['chatRead'];
  } catch {
    return {};
  }
}

function loadSelectedDevices(): Partial<Record<DeviceKind, string>> {
  try {
    return JSON.parse(localStorage.getItem('parley.devices') ?? '{}') as Partial<Record<DeviceKind, string>>;
  } catch {
    return {};
  }
}

export function selectDevice(kind: DeviceKind, deviceId: string): void {
  selectedDevices.value = { ...selectedDevices.value, [kind]: deviceId };
  localStorage.setItem('parley.devices', JSON.stringify(selectedDevices.value));
}
