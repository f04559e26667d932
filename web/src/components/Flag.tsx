import { Icon } from './Icon.tsx';
import type { IconName } from './Icon.tsx';

/** A small labelled icon in the lobby: what a participant has on. */
export function Flag({ label, icon, off }: { label: string; icon: IconName; off?: boolean }) {
  return (
    <span class={`flag${off ? ' flag-off' : ''}`} role="img" aria-label={label} title={label}>
      <Icon name={icon} off={off} />
    </span>
  );
}
