import type { types } from 'mediasoup-client';
import type { Capture, CaptureSource } from '../client/index.ts';

import { wrtc } from './wrtc.ts';

const { RTCAudioSource, RTCVideoSource } = wrtc.nonstandard;

/** Synthetic camera: small frames keep a bot's encoder cheap, so a 2-core machine can run several. */
export const VIDEO = { width: 320, height: 180, fps: 15, maxBitrate: 300_000 };
/** Synthetic microphone: wrtc's audio source takes exactly 10 ms per call. */
const AUDIO = { sampleRate: 48_000, frameMs: 10, toneHz: 440, amplitude: 8000 };

/** A running generator; `track()` hands out tracks fed by it, `release()` stops it once no one uses it. */
export interface SyntheticSource {
  track(): MediaStreamTrack;
  release(): void;
}

/** A 440 Hz tone, pushed in the 10 ms frames wrtc expects. */
export function syntheticAudio(): SyntheticSource {
  const source = new RTCAudioSource();
  const samplesPerFrame = (AUDIO.sampleRate * AUDIO.frameMs) / 1000;
  const samples = new Int16Array(samplesPerFrame);
  let phase = 0;
  const step = (2 * Math.PI * AUDIO.toneHz) / AUDIO.sampleRate;
  return generator(
    () => source.createTrack(),
    AUDIO.frameMs,
    () => {
      for (let i = 0; i < samplesPerFrame; i++, phase += step) samples[i] = Math.round(AUDIO.amplitude * Math.sin(phase));
      phase %= 2 * Math.PI;
      source.onData({ samples, sampleRate: AUDIO.sampleRate, channelCount: 1, numberOfFrames: samplesPerFrame });
    },
  );
}

export interface PublishOptions {
  audio?: boolean;
  video?: boolean;
  shared?: boolean;
  simulcast?: types.RtpEncodingParameters[];
  /** The synthetic camera's picture size (default 320×180); simulcast needs a larger one for all its layers. */
  size?: VideoSize;
}

export interface VideoSize {
  width: number;
  height: number;
}

/**
 * Diagonal stripes drifting across an I420 frame: cheap to draw, but never static for the encoder. A larger
 * `size` than the default is for simulcast tests: libwebrtc sends fewer layers for small pictures.
 */
export function syntheticVideo(size: VideoSize = VIDEO): SyntheticSource {
  const source = new RTCVideoSource();
  const { width, height } = size;
  const data = new Uint8Array(width * height * 1.5);
  data.fill(128, width * height); // neutral chroma: a grey-scale picture
  let t = 0;
  return generator(
    () => source.createTrack(),
    1000 / VIDEO.fps,
    () => {
      t += 4;
      for (let y = 0; y < height; y++) {
        const row = y * width;
        for (let x = 0; x < width; x++) data[row + x] = (x + y + t) & 0xff;
      }
      source.onFrame({ width, height, data });
    },
  );
}

function generator(createTrack: () => MediaStreamTrack, periodMs: number, tick: () => void): SyntheticSource {
  const timer = setInterval(tick, periodMs);
  return { track: createTrack, release: () => clearInterval(timer) };
}

/**
 * One tone and one picture for every bot of the process that asks for shared sources: each bot still has its
 * own encoder (one per RTCRtpSender, that is how libwebrtc works), but the JS timers and drawing run once.
 * Reference-counted so the timers stop when the last bot closes.
 */
class SharedSource implements SyntheticSource {
  private source?: SyntheticSource;
  private users = 0;
  constructor(private create: () => SyntheticSource) {}
  track(): MediaStreamTrack {
    this.source ??= this.create();
    this.users++;
    return this.source.track();
  }
  release(): void {
    if (--this.users > 0) return;
    this.source?.release();
    this.source = undefined;
  }
}

export const shared = { audio: new SharedSource(syntheticAudio), video: new SharedSource(syntheticVideo) };

/**
 * The client SDK's capture for a bot: a synthetic tone for the microphone, drifting stripes for the camera.
 * Each track's generator is released when the call stops the track (or when `release` is called early, as a
 * camera that hangs); `shared` feeds every bot of the process from one generator per kind.
 */
export class SyntheticCapture implements Capture {
  shared = false;
  /** The camera's picture size (not for shared sources, which keep the default). */
  size: VideoSize = VIDEO;
  private releases = new Map<MediaStreamTrack, () => void>();

  async track(source: CaptureSource): Promise<MediaStreamTrack> {
    const kind = source === 'microphone' ? 'audio' : 'video';
    const generator = this.shared ? shared[kind] : kind === 'audio' ? syntheticAudio() : syntheticVideo(this.size);
    const track = generator.track();
    this.releases.set(track, () => generator.release());
    return track;
  }

  screen(): Promise<{ video: MediaStreamTrack }> {
    return Promise.reject(new Error('bots do not share a screen'));
  }

  /** Stops feeding `track`; once per track, however often it is called. */
  release(track: MediaStreamTrack): void {
    this.releases.get(track)?.();
    this.releases.delete(track);
  }

  releaseAll(): void {
    for (const track of [...this.releases.keys()]) this.release(track);
  }
}
