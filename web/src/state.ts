import { signal } from '@preact/signals';
import type { Source } from '../../protocol/sdp.ts';

export interface RemoteTrack {
  producerId: string;
  consumerId: string;
  source: Source;
  track: MediaStreamTrack;
}

export interface RemotePeer {
  id: string;
  displayName: string;
  tracks: RemoteTrack[];
}

export type Phase = 'lobby' | 'joining' | 'joined' | 'leaving';

/** The app's whole state: components read these, only media/ writes them. */
export const phase = signal<Phase>('lobby');
export const roomName = signal('');
export const selfName = signal('');
export const remotePeers = signal<RemotePeer[]>([]);
export const localTracks = signal<Partial<Record<Source, MediaStreamTrack>>>({});
export const errorMessage = signal<string | null>(null);
export const connection = signal<'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed'>('new');
