import { currentCall } from '../actions.ts';
import { describeCaptureError } from '../capture.ts';
import { t } from '../i18n/index.ts';
import type { MessageKey } from '../i18n/index.ts';
import { devices, errorMessage, selectDevice, selectedDevices, showDevices } from '../state.ts';
import type { DeviceKind } from '../state.ts';

const KINDS: { kind: DeviceKind; label: MessageKey }[] = [
  { kind: 'audioinput', label: 'devices.microphone' },
  { kind: 'videoinput', label: 'devices.camera' },
  { kind: 'audiooutput', label: 'devices.speaker' },
];

/** Choose microphone, camera and speaker; a change applies live (a new track, no renegotiation). */
export function DeviceSettings() {
  const change = (kind: DeviceKind, deviceId: string) => {
    selectDevice(kind, deviceId);
    if (kind === 'audiooutput') return;
    const source = kind === 'audioinput' ? 'microphone' : 'camera';
    currentCall()
      ?.switchDevice(source, deviceId)
      .catch((err: unknown) => (errorMessage.value = () => describeCaptureError(source, err)));
  };
  return (
    <section class="devices" aria-label={t('devices.title')}>
      {KINDS.map(({ kind, label }) => {
        const options = devices.value.filter((d) => d.kind === kind);
        // Browsers without output selection (no setSinkId) list no speakers: say so rather than hide it.
        return (
          <label key={kind}>
            {t(label)}
            <select
              value={selectedDevices.value[kind] ?? ''}
              disabled={options.length === 0}
              onChange={(e) => change(kind, e.currentTarget.value)}
            >
              {options.length === 0 && (
                <option value="">{kind === 'audiooutput' ? t('devices.systemDefault') : t('devices.noneFound')}</option>
              )}
              {options.length > 0 && !selectedDevices.value[kind] && <option value="">{t('devices.default')}</option>}
              {options.map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || t('devices.numbered', { kind: t(label), n: i + 1 })}
                </option>
              ))}
            </select>
          </label>
        );
      })}
      <button type="button" class="secondary" onClick={() => (showDevices.value = false)}>
        {t('devices.done')}
      </button>
    </section>
  );
}
