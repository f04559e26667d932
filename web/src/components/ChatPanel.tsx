import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from '../../../protocol/chat.ts';
import { describeChatError, sendChat } from '../actions.ts';
import { formatDateTime, formatTime, t } from '../i18n/index.ts';
import { chatMessages, roomName, selfState } from '../state.ts';

/**
 * The room's chat: what was said before we came (the server keeps it), then live. Text is rendered as text,
 * never as markup; a refusal (too long, too fast, not allowed) is said under the box and the call goes on.
 */
export function ChatPanel() {
  const [text, setText] = useState('');
  const [failure, setFailure] = useState<unknown>(null);
  const log = useRef<HTMLOListElement>(null);
  const input = useRef<HTMLInputElement>(null);
  /** How many messages were submitted: which answer belongs to the latest one. */
  const latest = useRef(0);
  const messages = chatMessages.value;
  const mayChat = selfState.value?.grants.canChat !== false;

  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length]);

  const submit = (e: Event) => {
    e.preventDefault();
    // The box's own value: a submit right after typing comes before the re-render that would carry it.
    const body = (input.current?.value ?? text).trim();
    if (!body) return;
    const sent = ++latest.current;
    sendChat(body).then(
      () => {
        // Unless the next message is already being typed.
        if (input.current?.value.trim() === body) setText('');
        // Only the latest message's success clears a refusal: answers to a burst come back in any order (a
        // refusal at once, an accepted message once stored), and an earlier one's must not hide the refusal.
        if (sent === latest.current) setFailure(null);
      },
      (err: unknown) => setFailure(err),
    );
  };

  return (
    <aside class="chat" aria-label={t('chat.title')} data-testid="chat">
      <h2 class="section-title">{t('chat.title')}</h2>
      <ol class="chat-log" ref={log} role="log" aria-live="polite" data-testid="chat-log">
        {messages.length === 0 && <li class="muted">{t('chat.empty')}</li>}
        {messages.map((m) => (
          <ChatLine key={m.seq} message={m} />
        ))}
      </ol>
      {failure !== null && (
        <p class="chat-error" role="alert" data-testid="chat-error">
          {describeChatError(failure)}
        </p>
      )}
      <form class="chat-form" onSubmit={submit}>
        <input
          ref={input}
          name="message"
          value={text}
          disabled={!mayChat}
          autoComplete="off"
          aria-label={t('chat.placeholder', { room: roomName.value })}
          placeholder={mayChat ? t('chat.placeholder', { room: roomName.value }) : t('chat.error.notAllowed')}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit" disabled={!mayChat}>
          {t('chat.send')}
        </button>
      </form>
    </aside>
  );
}

function ChatLine({ message }: { message: ChatMessage }) {
  const time = (
    <time dateTime={new Date(message.sentAt).toISOString()} title={formatDateTime(message.sentAt)}>
      {formatTime(message.sentAt)}
    </time>
  );
  if (message.kind === 'moderation') {
    return (
      <li class="chat-msg chat-notice" data-testid="chat-notice">
        {time} <span>{describeNotice(message)}</span>
      </li>
    );
  }
  const author = message.kind === 'system' ? t('chat.system') : (message.from?.displayName ?? '');
  return (
    <li class={`chat-msg${message.kind === 'system' ? ' chat-system' : ''}`} data-testid="chat-message">
      <span class="chat-author">{author}</span> {time}
      <p class="chat-text">{message.text}</p>
    </li>
  );
}

/** A moderator's action as a sentence in the reader's language. */
function describeNotice(message: ChatMessage): string {
  const notice = message.moderation;
  if (!notice) return '';
  const by = message.from ? t('chat.actor', { name: message.from.displayName }) : t('chat.actorServer');
  const target = notice.target?.displayName ?? '';
  const source = notice.source ? t(`source.${notice.source}`) : '';
  switch (notice.action) {
    case 'mute':
      return t(notice.locked ? 'chat.notice.muteLocked' : 'chat.notice.mute', { by, target, source });
    case 'unlock':
      return t('chat.notice.unlock', { by, target, source });
    case 'remove':
      return t('chat.notice.remove', { by, target, reason: notice.reason ?? '' });
    case 'grants':
      return t('chat.notice.grants', { by, target });
  }
}
