import { connection, localTracks, remotePeers, roomName, selfName } from '../state.ts';
import { Controls } from './Controls.tsx';
import { Tile } from './Tile.tsx';

export function Room() {
  const local = localTracks.value;
  return (
    <section class="room">
      <header>
        <h2>{roomName.value}</h2>
        <span class={`conn conn-${connection.value}`} data-testid="connection">
          {connection.value}
        </span>
      </header>
      <div class="grid">
        <Tile name={`${selfName.value} (you)`} video={local.camera} muted={!local.microphone} self />
        {remotePeers.value.map((peer) => (
          <Tile
            key={peer.id}
            peerId={peer.id}
            name={peer.displayName}
            video={peer.tracks.find((t) => t.track.kind === 'video')?.track}
            audio={peer.tracks.find((t) => t.track.kind === 'audio')?.track}
            muted={!peer.tracks.some((t) => t.track.kind === 'audio')}
          />
        ))}
      </div>
      <Controls />
    </section>
  );
}
