import { describeCause, describeRepair } from '../doctor-words.ts';
import { notices } from '../state.ts';

/** On a black or frozen tile: why (the doctor's cause, in plain words) and what is being done about it. */
export function TileNotice({ consumerId, name }: { consumerId: string; name: string }) {
  const notice = notices.value.get(consumerId);
  if (!notice?.cause) return null;
  const repair = describeRepair(notice.repair);
  return (
    <div class="tile-notice" role="status" data-testid="tile-notice" data-cause={notice.cause}>
      <p>{describeCause(notice.cause, name)}</p>
      {repair && <p class="tile-notice-repair">{repair}</p>}
    </div>
  );
}
