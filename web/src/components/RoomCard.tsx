import { unreadCount } from '../../../client/index.ts';
import type { LobbyRoom } from '../../../protocol/presence.ts';
import { t, tn } from '../i18n/index.ts';
import { chatRead } from '../state.ts';
import { Flag } from './Flag.tsx';

interface Props {
  room: LobbyRoom;
  disabled: boolean;
  onJoin(): void;
}

/** One room in the lobby: what each participant is doing, and the chat messages we have not seen. */
export function RoomCard({ room, disabled, onJoin }: Props) {
  const unread = unreadCount(room, chatRead.value[room.roomId]);
  return (
    <li class="room-card" data-testid="lobby-room" data-room={room.roomId}>
      <div class="room-card-head">
        <h3>{room.roomId}</h3>
        <span class="muted">{tn('lobby.inRoom', room.participants.length)}</span>
        {unread > 0 && (
          <span class="unread" data-testid="unread" data-count={unread} title={tn('lobby.unread', unread)}>
            <span aria-hidden="true">{unread > 99 ? '99+' : unread}</span>
            <span class="sr-only">{tn('lobby.unread', unread)}</span>
          </span>
        )}
        <button
          type="button"
          class="small"
          disabled={disabled}
          onClick={onJoin}
          aria-label={t('lobby.joinRoom', { room: room.roomId })}
        >
          {t('lobby.join')}
        </button>
      </div>
      <ul class="participants">
        {room.participants.map((p) => {
          const m = p.media;
          return (
            <li
              key={p.peerId}
              class={`participant${m.speaking ? ' speaking' : ''}${p.connected && p.reachable !== false ? '' : ' away'}`}
              data-testid="lobby-participant"
            >
              <span class="dot" aria-hidden="true" />
              <span class="pname">{p.displayName}</span>
              {p.reachable === false ? (
                <span class="tag">{t('lobby.unreachable')}</span>
              ) : (
                !p.connected && <span class="tag">{t('lobby.reconnecting')}</span>
              )}
              {m.microphone && <Flag label={m.muted ? t('lobby.muted') : t('lobby.micOn')} icon="mic" off={m.muted} />}
              {m.camera && <Flag label={t('lobby.cameraOn')} icon="camera" />}
              {m.screen && <Flag label={t('lobby.sharing')} icon="screen" />}
              {m.speaking && <span class="tag speaking-tag">{t('lobby.speaking')}</span>}
            </li>
          );
        })}
      </ul>
    </li>
  );
}
