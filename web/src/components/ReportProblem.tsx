import { t } from '../i18n/index.ts';
import { currentCall } from '../actions.ts';
import { errorMessage } from '../state.ts';
import { traces } from '../telemetry/tracing.ts';
import { Icon } from './Icon.tsx';

/** "Report a problem": saves what this client saw (protocol/problem-report.ts) for an operator to open in /debug. */
export function ReportProblem() {
  const save = async () => {
    const call = currentCall();
    if (!call) return;
    try {
      const report = await call.problemReport('', traces());
      const url = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `parley-report-${new Date(report.createdAt).toISOString().replace(/[:.]/g, '-')}.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      const message = `${t('report.failed')}: ${(err as Error).message}`;
      errorMessage.value = () => message;
    }
  };
  return (
    <button type="button" class="secondary" onClick={() => void save()}>
      <Icon name="stats" />
      <span class="label">{t('report.button')}</span>
    </button>
  );
}
