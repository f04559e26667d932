import { openedReport, openReport, showTrace } from './state.ts';

/** "Report a problem" documents from users: open one to see what their client saw, and its trace. */
export function ReportPanel() {
  const opened = openedReport.value;
  const pick = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file) await openReport(await file.text());
  };
  return (
    <section class="dbg-report" data-testid="debug-report">
      <label>
        Open a user’s problem report <input type="file" accept="application/json,.json" onChange={(e) => void pick(e)} />
      </label>
      {opened && 'error' in opened && (
        <p class="error" role="alert">
          {opened.error}
        </p>
      )}
      {opened && 'report' in opened && (
        <div>
          <p>
            {opened.report.peerId} in {opened.report.room}, {new Date(opened.report.createdAt).toLocaleString()} (
            {opened.report.connection}){opened.report.note && `: “${opened.report.note}”`}
          </p>
          <ul>
            {opened.report.notices.map((n) => (
              <li key={n.consumerId}>
                <button
                  type="button"
                  class="small secondary"
                  onClick={() => void showTrace(n.traceId, `consumer ${n.consumerId}`, n.consumerId)}
                >
                  {n.cause}
                </button>{' '}
                on consumer {n.consumerId}
                {n.repair && `, repair: ${n.repair}`}
              </li>
            ))}
          </ul>
          <p class="muted">
            receives {opened.report.consumers.length} stream(s), sends {opened.report.producers.length}
          </p>
        </div>
      )}
    </section>
  );
}
