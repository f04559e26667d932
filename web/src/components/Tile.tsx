import { useEffect, useRef } from 'preact/hooks';
import { currentCall } from '../session.ts';

interface TileProps {
  name: string;
  peerId?: string;
  video?: MediaStreamTrack;
  audio?: MediaStreamTrack;
  muted: boolean;
  self?: boolean;
}

export function Tile({ name, peerId, video, audio, muted, self }: TileProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const audioRef = useRef<HTMLAudioElement>(null);

  useEffect(() => attach(videoRef.current, video, self ? undefined : () => currentCall()?.noteFirstFrame()), [video]);
  useEffect(() => attach(audioRef.current, audio), [audio]);

  return (
    <figure class={`tile${self ? ' self' : ''}`} data-peer-id={peerId} data-testid={self ? 'self-tile' : 'remote-tile'}>
      {video ? <video ref={videoRef} autoplay playsInline muted /> : <div class="avatar">{name.slice(0, 1)}</div>}
      {audio && <audio ref={audioRef} autoplay />}
      <figcaption>
        {name} {muted && <span aria-label="muted">🔇</span>}
      </figcaption>
    </figure>
  );
}

function attach(el: HTMLMediaElement | null, track?: MediaStreamTrack, onFirstFrame?: () => void) {
  if (!el || !track) return;
  el.srcObject = new MediaStream([track]);
  el.play().catch(() => undefined);
  if (onFirstFrame && el instanceof HTMLVideoElement) el.requestVideoFrameCallback(() => onFirstFrame());
  return () => {
    el.srcObject = null;
  };
}
