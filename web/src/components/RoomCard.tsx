import type { LobbyRoom } from '../../../protocol/presence.ts';
import { Flag } from './Flag.tsx';

interface Props {
  room: LobbyRoom;
  disabled: boolean;
  onJoin(): void;
}

/** One room in the lobby and what each participant is doing. */
export function RoomCard({ room, disabled, onJoin }: Props) {
  return (
    <li class="room-card" data-testid="lobby-room" data-room={room.roomId}>
      <div class="room-card-head">
        <h3>{room.roomId}</h3>
        <span class="muted">{room.participants.length} in room</span>
        <button type="button" class="small" disabled={disabled} onClick={onJoin} aria-label={`Join ${room.roomId}`}>
          Join
        </button>
      </div>
      <ul class="participants">
        {room.participants.map((p) => {
          const m = p.media;
          return (
            <li
              key={p.peerId}
              class={`participant${m.speaking ? ' speaking' : ''}${p.connected ? '' : ' away'}`}
              data-testid="lobby-participant"
            >
              <span class="dot" aria-hidden="true" />
              <span class="pname">{p.displayName}</span>
              {!p.connected && <span class="tag">reconnecting</span>}
              {m.microphone && <Flag label={m.muted ? 'muted' : 'microphone on'} icon="mic" off={m.muted} />}
              {m.camera && <Flag label="camera on" icon="camera" />}
              {m.screen && <Flag label="sharing screen" icon="screen" />}
              {m.speaking && <span class="tag speaking-tag">speaking</span>}
            </li>
          );
        })}
      </ul>
    </li>
  );
}
