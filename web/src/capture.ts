import { mediaDevicesCapture } from '../../client/index.ts';
import type { Capture, CaptureSource } from '../../client/index.ts';
import type { Source } from '../../protocol/room.ts';
import { t } from './i18n/index.ts';
import { devices, selectedDevices } from './state.ts';

/** The browser's capture with the devices the user chose; device labels are readable once one is captured. */
export const browserCapture: Capture = mediaDevicesCapture(chosen, () => void refreshDevices());

export async function refreshDevices(): Promise<void> {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  devices.value = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.deviceId !== '');
}

let watching = false;

/** Keeps the device lists current as devices come and go (once per page). */
export function watchDevices(): void {
  if (!watching) navigator.mediaDevices?.addEventListener('devicechange', () => void refreshDevices());
  watching = true;
  void refreshDevices();
}

function chosen(source: CaptureSource): string | undefined {
  return selectedDevices.value[source === 'microphone' ? 'audioinput' : 'videoinput'];
}

/** A message a person can act on, for the errors getUserMedia and getDisplayMedia throw. */
export function describeCaptureError(source: Source, err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  const device = t(`source.${source}`);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return t('error.captureDenied', { source: device });
    case 'NotFoundError':
    case 'OverconstrainedError':
      return t('error.captureMissing', { source: device });
    case 'NotReadableError':
    case 'AbortError':
      return t('error.captureBusy', { source: device });
    default:
      return t('error.captureOther', { source: device });
  }
}
