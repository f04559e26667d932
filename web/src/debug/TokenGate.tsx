import { useState } from 'preact/hooks';
import { saveToken, tokenProblem } from './state.ts';

/**
 * The dashboard needs an admin token, minted by an operator with the deployment's secret
 * (`npm run token -- --name Ops --admin`); dev tokens are never admin tokens.
 */
export function TokenGate() {
  const [value, setValue] = useState('');

  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim()) saveToken(value.trim());
  };
  const problem = tokenProblem.value;
  return (
    <section class="welcome dbg-gate">
      <h1>Parley debug</h1>
      <p class="muted">
        Rooms, consumer health and traces. This needs an admin token:{' '}
        <code>PARLEY_SECRET=… npm run token -- --name Ops --admin</code>
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <form onSubmit={submit}>
        <label>
          Admin token
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={value}
            required
            placeholder="PARLEY_SECRET=… npm run token -- --name Ops --admin"
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Open the dashboard</button>
      </form>
    </section>
  );
}
