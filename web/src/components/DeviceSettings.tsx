import { currentCall } from '../actions.ts';
import { devices, errorMessage, selectDevice, selectedDevices, showDevices } from '../state.ts';
import type { DeviceKind } from '../state.ts';
import { describeCaptureError } from '../capture.ts';

const KINDS: { kind: DeviceKind; label: string }[] = [
  { kind: 'audioinput', label: 'Microphone' },
  { kind: 'videoinput', label: 'Camera' },
  { kind: 'audiooutput', label: 'Speaker' },
];

/** Choose microphone, camera and speaker; a change applies live (a new track, no renegotiation). */
export function DeviceSettings() {
  const change = (kind: DeviceKind, deviceId: string) => {
    selectDevice(kind, deviceId);
    if (kind === 'audiooutput') return;
    const source = kind === 'audioinput' ? 'microphone' : 'camera';
    currentCall()
      ?.switchDevice(source, deviceId)
      .catch((err: unknown) => (errorMessage.value = describeCaptureError(source, err)));
  };
  return (
    <section class="devices" aria-label="Devices">
      {KINDS.map(({ kind, label }) => {
        const options = devices.value.filter((d) => d.kind === kind);
        // Browsers without output selection (no setSinkId) list no speakers: say so rather than hide it.
        return (
          <label key={kind}>
            {label}
            <select
              value={selectedDevices.value[kind] ?? ''}
              disabled={options.length === 0}
              onChange={(e) => change(kind, e.currentTarget.value)}
            >
              {options.length === 0 && <option value="">{kind === 'audiooutput' ? 'System default' : 'None found'}</option>}
              {options.length > 0 && !selectedDevices.value[kind] && <option value="">Default</option>}
              {options.map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || `${label} ${i + 1}`}
                </option>
              ))}
            </select>
          </label>
        );
      })}
      <button type="button" class="secondary" onClick={() => (showDevices.value = false)}>
        Done
      </button>
    </section>
  );
}
