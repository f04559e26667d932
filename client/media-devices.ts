import type { Capture, CaptureSource } from './host.ts';

/**
 * Capture constraints. An explicitly chosen device is asked for as `ideal`, not `exact`, so an unplugged
 * choice falls back to another device instead of failing.
 */
export function constraintsFor(source: CaptureSource, deviceId: string | undefined): MediaStreamConstraints {
  const device = deviceId ? { ideal: deviceId } : undefined;
  if (source === 'microphone') {
    return { audio: { deviceId: device, echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
  }
  return { video: { deviceId: device, width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } };
}

/**
 * The browser's capture (getUserMedia, getDisplayMedia). `chosen` names the device the user picked for a
 * source, if any; `captured` hears of each new track (e.g. to refresh device labels once permission exists).
 */
export function mediaDevicesCapture(
  chosen: (source: CaptureSource) => string | undefined = () => undefined,
  captured: (track: MediaStreamTrack) => void = () => undefined,
): Capture {
  return {
    async track(source, deviceId) {
      const stream = await navigator.mediaDevices.getUserMedia(constraintsFor(source, deviceId ?? chosen(source)));
      const [track] = stream.getTracks();
      if (!track) throw new Error(`no ${source} track`);
      captured(track);
      return track;
    },
    async screen() {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
      const [video] = stream.getVideoTracks();
      if (!video) throw new Error('no screen track');
      // Detail over smoothness: text on a shared screen must stay sharp when bandwidth drops.
      video.contentHint = 'detail';
      return { video, audio: stream.getAudioTracks()[0] };
    },
  };
}
