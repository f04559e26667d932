import { render } from 'preact';
import { startWithToken, takeGivenToken } from './actions.ts';
import { App } from './components/App.tsx';

const root = document.getElementById('app')!;

// Signaling serves this page for every unknown path; /debug is the operators' dashboard, loaded on demand so
// the app itself does not carry it.
if (location.pathname === '/debug') {
  void import('./debug/Dashboard.tsx').then(({ Dashboard }) => render(<Dashboard />, root));
} else {
  render(<App />, root);
  // A link from the deployment carries the user's token: no name form, and straight into its room if it has one.
  const token = takeGivenToken();
  if (token) void startWithToken(token);
}
