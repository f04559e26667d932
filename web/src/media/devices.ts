import { devices, selectedDevices } from '../state.ts';

export type CaptureSource = 'microphone' | 'camera';

/**
 * Capture constraints. An explicitly chosen device is asked for as `ideal`, not `exact`, so an unplugged
 * choice falls back to another device instead of failing.
 */
export function constraintsFor(source: CaptureSource, deviceId = chosen(source)): MediaStreamConstraints {
  if (source === 'microphone') {
    return {
      audio: {
        deviceId: deviceId ? { ideal: deviceId } : undefined,
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
      },
    };
  }
  return {
    video: {
      deviceId: deviceId ? { ideal: deviceId } : undefined,
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
    },
  };
}

export async function capture(source: CaptureSource, deviceId?: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia(constraintsFor(source, deviceId));
  const [track] = stream.getTracks();
  if (!track) throw new Error(`no ${source} track`);
  // Labels are only readable once permission was granted: refresh the device lists now.
  void refreshDevices();
  return track;
}

/** Screen (or window, or tab) with its audio when the browser offers it. */
export async function captureScreen(): Promise<{ video: MediaStreamTrack; audio?: MediaStreamTrack }> {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
  const [video] = stream.getVideoTracks();
  if (!video) throw new Error('no screen track');
  // Detail over smoothness: text on a shared screen must stay sharp when bandwidth drops.
  video.contentHint = 'detail';
  return { video, audio: stream.getAudioTracks()[0] };
}

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
export function describeCaptureError(what: string, err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Permission to use the ${what} was denied. Allow it in the browser's site settings and try again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found. Plug one in and try again.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${what} is in use by another application or could not be started.`;
    default:
      return `${what}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
