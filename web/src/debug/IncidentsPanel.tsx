import { incidents } from './state.ts';

const time = (ms: number) => new Date(ms).toLocaleTimeString();

/** One incident per root cause across the fleet: what, where, how many, since when, what was tried. */
export function IncidentsPanel() {
  const fleet = incidents.value;
  if (!fleet) return <p class="muted">loading…</p>;
  if (fleet.incidents.length === 0) return <p class="muted">No incidents. Correlator: {fleet.correlator ?? 'none yet'}.</p>;
  return (
    <table class="dbg-incidents" data-testid="debug-incidents">
      <thead>
        <tr>
          <th>incident</th>
          <th>cause</th>
          <th>blast radius</th>
          <th>started</th>
          <th>ended</th>
          <th>repairs tried</th>
        </tr>
      </thead>
      <tbody>
        {fleet.incidents.map((i) => (
          <tr key={i.id} class={i.endedAt === null ? 'open' : 'ended'} data-incident={i.id}>
            <td>{i.title}</td>
            <td>{i.cause}</td>
            <td>
              {i.rooms.length} room(s), {i.peers.length} peer(s), {i.consumers.length} consumer(s)
            </td>
            <td>{time(i.startedAt)}</td>
            <td>{i.endedAt === null ? 'open' : time(i.endedAt)}</td>
            <td>{i.repairs.map((r) => `${r.action} ×${r.consumers}`).join(', ') || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
