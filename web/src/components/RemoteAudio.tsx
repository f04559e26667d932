import { useEffect, useRef } from 'preact/hooks';
import { selectedDevices } from '../state.ts';

/** HTMLMediaElement.setSinkId is not in every browser's types (nor every browser). */
type SinkSelectable = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };

/** Plays one remote audio track on the chosen speaker. */
export function RemoteAudio({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  const sinkId = selectedDevices.value.audiooutput;

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => undefined);
    return () => {
      el.srcObject = null;
    };
  }, [track]);

  useEffect(() => {
    const el = ref.current as SinkSelectable | null;
    if (el?.setSinkId && sinkId) el.setSinkId(sinkId).catch(() => undefined);
  }, [sinkId]);

  // biome-ignore lint/a11y/useMediaCaption: live call audio has no caption track
  return <audio ref={ref} autoplay />;
}
