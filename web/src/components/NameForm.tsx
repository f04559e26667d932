import { useState } from 'preact/hooks';
import { enterLobby } from '../actions.ts';
import { connection } from '../state.ts';

/** First step: who you are. The lobby connects as soon as there is a name; nothing is captured. */
export function NameForm() {
  const [name, setName] = useState(() => localStorage.getItem('parley.name') ?? '');
  const busy = connection.value === 'connecting';
  const submit = (e: Event) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (trimmed) void enterLobby(trimmed);
  };
  return (
    <section class="welcome">
      <h1>Parley</h1>
      <p class="muted">Voice, video and screen sharing rooms.</p>
      <form onSubmit={submit}>
        <label>
          Your name
          <input name="name" value={name} required maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Connecting…' : 'Continue'}
        </button>
      </form>
    </section>
  );
}
