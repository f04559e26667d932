import type { types } from 'mediasoup';

/** What the silence watch needs of a producer (a fake in unit tests). */
export interface ScoredProducer {
  readonly kind: types.MediaKind;
  on(event: 'score', listener: (scores: types.ProducerScore[]) => void): unknown;
}

/**
 * Calls `act` each time a video producer whose every stream had gone silent (score 0: its sender lost its
 * network, or stopped sending) sends again. Its viewers need a key frame then, at once: the requests mediasoup
 * sent into the silence are still pending, and it repeats a pending one at most once a second (its
 * KeyFrameRequestManager), so the picture would come back up to a second after the media. A failed `act`
 * (the producer closed meanwhile) is ignored: the next silence tries again. mediasoup scores a silent stream 0
 * only for simulcast producers (its RTP inactivity check): a single-stream camera, a screen share or a pipe
 * producer never looks silent, so this never fires for them.
 */
export function onSoundAfterSilence(producer: ScoredProducer, act: () => Promise<unknown>): void {
  if (producer.kind !== 'video') return;
  let silent = false;
  producer.on('score', (scores) => {
    const wasSilent = silent;
    silent = scores.length > 0 && scores.every((s) => s.score === 0);
    if (wasSilent && !silent) void act().catch(() => undefined);
  });
}

/**
 * Why a key frame was forced: a simulcast producer sent again after silence, or media piped in from an instance
 * behind a cut link arrived again (cluster/remote-producers.ts).
 */
export type KeyFrameCause = 'sound-after-silence' | 'pipe-return';

/** Producers paused by forceKeyFrame at this moment. */
const forcing = new Set<string>();

/**
 * Makes mediasoup ask the publisher for a key frame now, even with a request pending: only a producer resume
 * forces one (consumer.requestKeyFrame waits behind the pending request). The pause before it lasts one
 * worker round trip; viewers see nothing of it, as they get no picture before the key frame anyway.
 */
export async function forceKeyFrame(producer: Pick<types.Producer, 'id' | 'pause' | 'resume'>): Promise<void> {
  forcing.add(producer.id);
  try {
    await producer.pause();
    await producer.resume();
  } finally {
    forcing.delete(producer.id);
  }
}

/**
 * Whether a producer mediasoup reports `paused` was paused by its publisher (muted), not by forceKeyFrame: the
 * doctor judging in that moment must not tell viewers the publisher paused.
 */
export function pausedByPublisher(producerId: string, paused: boolean): boolean {
  return paused && !forcing.has(producerId);
}
