import { computed, signal } from '@preact/signals';
import type { Lobby } from '../../protocol/presence.ts';
import type { Source } from '../../protocol/room.ts';

export interface RemoteTrack {
  producerId: string;
  consumerId: string;
  source: Source;
  track: MediaStreamTrack;
  /** The sender paused it (microphone muted). */
  paused: boolean;
}

export interface RemotePeer {
  id: string;
  displayName: string;
  tracks: RemoteTrack[];
}

export type Phase = 'lobby' | 'joining' | 'joined' | 'leaving';

/** What the user sees: the WebSocket and the media transports folded into one state. */
export type ConnectionState = 'offline' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export type DeviceKind = 'audioinput' | 'videoinput' | 'audiooutput';

/** The app's whole state: components read these, only session.ts and media/ write them. */
export const phase = signal<Phase>('lobby');
export const roomName = signal('');
export const selfName = signal('');
export const selfPeerId = signal<string | null>(null);
export const lobby = signal<Lobby | null>(null);
export const connection = signal<ConnectionState>('offline');
export const remotePeers = signal<RemotePeer[]>([]);
export const localTracks = signal<Partial<Record<Source, MediaStreamTrack>>>({});
export const microphoneMuted = signal(false);
/** A source whose start or stop is under way, so its button can show it. */
export const pendingSources = signal<ReadonlySet<Source>>(new Set());
export const activeSpeaker = signal<string | null>(null);
/** Peers above the speaking threshold in the latest audio-levels report. */
export const speaking = signal<ReadonlySet<string>>(new Set());
export const devices = signal<MediaDeviceInfo[]>([]);
export const selectedDevices = signal<Partial<Record<DeviceKind, string>>>(loadSelectedDevices());
export const showStats = signal(false);
export const showDevices = signal(false);
export const errorMessage = signal<string | null>(null);

export const screenShares = computed(() =>
  remotePeers.value.flatMap((peer) => peer.tracks.filter((t) => t.source === 'screen').map((track) => ({ peer, track }))),
);

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
