import type { StatsRows } from '../../../client/index.ts';
import { activeSpeaker, selfState, unreachablePeers } from '../state.ts';
import { ModeratorMenu } from './ModeratorMenu.tsx';
import type { RemotePeer } from '../state.ts';
import { Tile } from './Tile.tsx';

interface Props {
  peer: RemotePeer;
  speaking: boolean;
  readConsumer: (consumerId: string) => () => Promise<StatsRows | undefined> | StatsRows | undefined;
}

/** A remote participant's camera tile (or avatar), with their microphone. */
export function PeerTile({ peer, speaking, readConsumer }: Props) {
  const camera = peer.tracks.find((t) => t.source === 'camera');
  const mic = peer.tracks.find((t) => t.source === 'microphone');
  const statsFrom = camera ?? mic;
  return (
    <Tile
      peerId={peer.id}
      name={peer.displayName}
      video={camera?.track}
      consumerId={camera?.consumerId}
      audio={mic ? [mic.track] : []}
      muted={!mic || mic.paused}
      speaking={speaking}
      unreachable={unreachablePeers.value.has(peer.id)}
      active={activeSpeaker.value === peer.id}
      readStats={statsFrom ? readConsumer(statsFrom.consumerId) : undefined}
      menu={selfState.value?.grants.moderator ? <ModeratorMenu peerId={peer.id} name={peer.displayName} /> : undefined}
    />
  );
}
