import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/index.ts';

interface Props {
  title: string;
  label: string;
  confirm: string;
  defaultReason: string;
  onConfirm(reason: string): void;
  onClose(): void;
}

/** Asks a moderator why (the person removed, or the whole room, is shown the reason). */
export function ReasonDialog({ title, label, confirm, defaultReason, onConfirm, onClose }: Props) {
  const [reason, setReason] = useState(defaultReason);
  const input = useRef<HTMLInputElement>(null);
  const titleId = useId();
  useEffect(() => input.current?.focus(), []);
  const submit = (e: Event) => {
    e.preventDefault();
    onConfirm(reason.trim() || defaultReason);
    onClose();
  };
  return (
    <div class="dialog-backdrop">
      <form
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onSubmit={submit}
        onKeyDown={(e) => e.key === 'Escape' && onClose()}
      >
        <h2 id={titleId}>{title}</h2>
        <label>
          {label}
          <input ref={input} value={reason} maxLength={200} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        <div class="dialog-actions">
          <button type="button" class="secondary" onClick={onClose}>
            {t('moderation.cancel')}
          </button>
          <button type="submit" class="danger">
            {confirm}
          </button>
        </div>
      </form>
    </div>
  );
}
