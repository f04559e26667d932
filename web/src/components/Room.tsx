import { currentCall } from '../actions.ts';
import { t, tn } from '../i18n/index.ts';
import {
  activeSpeaker,
  localTracks,
  microphoneMuted,
  remotePeers,
  roomName,
  screenShares,
  selfName,
  selfPeerId,
  showChat,
  showDevices,
  speaking,
} from '../state.ts';
import { ChatPanel } from './ChatPanel.tsx';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { Controls } from './Controls.tsx';
import { DeviceSettings } from './DeviceSettings.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { PeerTile } from './PeerTile.tsx';
import { Tile } from './Tile.tsx';

/** The room: screen shares large on a stage, everyone's camera tile in a grid, the chat beside, controls below. */
export function Room() {
  const local = localTracks.value;
  const shares = screenShares.value;
  const self = selfPeerId.value;
  const isSpeaking = (id: string | null) => !!id && (speaking.value.has(id) || activeSpeaker.value === id);
  // The subscriber samples each consumer once a second anyway: the overlay reads that sample.
  const readConsumer = (id: string) => () => currentCall()?.consumerStats(id);

  return (
    <section class={`room${shares.length ? ' has-stage' : ''}`}>
      <header class="bar">
        <h1>{roomName.value}</h1>
        <span class="muted">{tn('lobby.inRoom', remotePeers.value.length + 1)}</span>
        <ConnectionBadge />
        <LanguageSwitch />
      </header>
      <div class="room-body">
        <div class="room-main">
          {shares.length > 0 && (
            <div class="stage" data-count={shares.length}>
              {shares.map(({ peer, track }) => (
                <Tile
                  key={track.producerId}
                  peerId={peer.id}
                  name={peer.displayName}
                  video={track.track}
                  consumerId={track.consumerId}
                  audio={peer.tracks.filter((x) => x.source === 'screen-audio').map((x) => x.track)}
                  muted={false}
                  screen
                  readStats={readConsumer(track.consumerId)}
                />
              ))}
            </div>
          )}
          <div class="grid" data-count={remotePeers.value.length + 1}>
            <Tile
              name={t('room.you', { name: selfName.value })}
              peerId={self ?? undefined}
              video={local.camera}
              muted={!local.microphone || microphoneMuted.value}
              speaking={isSpeaking(self)}
              active={!!self && activeSpeaker.value === self}
              self
              readStats={() => currentCall()?.producer('camera')?.getStats()}
            />
            {remotePeers.value.map((peer) => (
              <PeerTile key={peer.id} peer={peer} speaking={isSpeaking(peer.id)} readConsumer={readConsumer} />
            ))}
          </div>
        </div>
        {showChat.value && <ChatPanel />}
      </div>
      <Controls />
      {showDevices.value && <DeviceSettings />}
    </section>
  );
}
