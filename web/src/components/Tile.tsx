import type { ComponentChildren } from 'preact';
import type { StatsRows } from '../../../client/index.ts';
import { useEffect, useRef } from 'preact/hooks';
import { currentCall } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { showStats } from '../state.ts';
import { Icon } from './Icon.tsx';
import { RemoteAudio } from './RemoteAudio.tsx';
import { StatsOverlay } from './StatsOverlay.tsx';
import { TileNotice } from './TileNotice.tsx';
import { useTileView } from './useTileView.ts';

export interface TileProps {
  name: string;
  peerId?: string;
  video?: MediaStreamTrack;
  /** The consumer behind `video`: its tile's size and visibility choose its layer and pause it. */
  consumerId?: string;
  audio?: MediaStreamTrack[];
  muted: boolean;
  speaking?: boolean;
  /** Still in the room, but the link to their region is down: say so instead of the doctor's notice. */
  unreachable?: boolean;
  active?: boolean;
  self?: boolean;
  screen?: boolean;
  readStats?: () => Promise<StatsRows | undefined> | StatsRows | undefined;
  /** A moderator's menu on someone else's tile. */
  menu?: ComponentChildren;
}

export function Tile(props: TileProps) {
  const { name, peerId, video, consumerId, audio = [], muted, speaking, active, self, screen } = props;
  const figureRef = useRef<HTMLElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  useTileView(figureRef, consumerId);

  useEffect(() => {
    const el = videoRef.current;
    if (!el || !video) return;
    el.srcObject = new MediaStream([video]);
    el.play().catch(() => undefined);
    if (!self && 'requestVideoFrameCallback' in el) el.requestVideoFrameCallback(() => currentCall()?.noteFirstFrame());
    return () => {
      el.srcObject = null;
    };
  }, [video]);

  const classes = [
    'tile',
    self && 'self',
    screen && 'screen',
    speaking && 'speaking',
    active && 'active',
    props.unreachable && 'unreachable',
  ]
    .filter(Boolean)
    .join(' ');
  const testId = screen ? 'screen-tile' : self ? 'self-tile' : 'remote-tile';
  return (
    <figure ref={figureRef} class={classes} data-peer-id={peerId} data-testid={testId} data-muted={muted ? 'true' : 'false'}>
      {video ? (
        <video
          ref={videoRef}
          autoplay
          playsInline
          muted
          aria-label={t(screen ? 'room.screenLabel' : 'room.cameraLabel', { name })}
        />
      ) : (
        <div class="avatar" aria-hidden="true">
          {name.slice(0, 1)}
        </div>
      )}
      {audio.map((track) => (
        <RemoteAudio key={track.id} track={track} />
      ))}
      <figcaption>
        {muted && (
          <span class="muted-icon" data-testid="muted-indicator" role="img" aria-label={t('room.mutedIndicator')}>
            <Icon name="mic" off />
          </span>
        )}
        <span class="tile-name">{screen ? t('room.screenOf', { name }) : name}</span>
      </figcaption>
      {props.menu}
      {showStats.value && props.readStats && <StatsOverlay read={props.readStats} />}
      {props.unreachable ? (
        <div class="tile-notice" role="status" data-testid="tile-unreachable">
          <p>{t('room.unreachable', { name })}</p>
        </div>
      ) : (
        consumerId && <TileNotice consumerId={consumerId} name={name} />
      )}
    </figure>
  );
}
