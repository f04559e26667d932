import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { forceKeyFrame, onSoundAfterSilence, pausedByPublisher } from '../../media-worker/sfu/key-frames.ts';
import type { ScoredProducer } from '../../media-worker/sfu/key-frames.ts';

const fakeProducer = (kind: types.MediaKind) => Object.assign(new EventEmitter(), { kind }) as EventEmitter & ScoredProducer;
const scores = (...values: number[]): types.ProducerScore[] =>
  values.map((score, i) => ({ encodingIdx: i, ssrc: 1000 + i, rid: `r${i}`, score }));

describe('a key frame after a producer’s silence', () => {
  it('is asked for once each time a silent video producer sends again, not while it sends or stays silent', () => {
    const producer = fakeProducer('video');
    let asked = 0;
    onSoundAfterSilence(producer, async () => void asked++);
    producer.emit('score', scores(10, 0, 0)); // the top layers off (dynacast) is not silence
    producer.emit('score', scores(10, 10, 0));
    expect(asked).toBe(0);
    producer.emit('score', scores(0, 0, 0));
    producer.emit('score', scores(0, 0, 0));
    expect(asked).toBe(0);
    producer.emit('score', scores(0, 7, 0));
    expect(asked).toBe(1);
    producer.emit('score', scores(10, 10, 0));
    expect(asked).toBe(1);
    producer.emit('score', scores(0, 0, 0));
    producer.emit('score', scores(10, 0, 0));
    expect(asked).toBe(2);
  });

  it('is not asked for audio, and a failure to ask is not thrown', async () => {
    const audio = fakeProducer('audio');
    let asked = 0;
    onSoundAfterSilence(audio, async () => void asked++);
    audio.emit('score', scores(0));
    audio.emit('score', scores(10));
    expect(asked).toBe(0);

    const video = fakeProducer('video');
    onSoundAfterSilence(video, () => Promise.reject(new Error('producer closed')));
    video.emit('score', scores(0));
    video.emit('score', scores(10));
    await new Promise((resolve) => setImmediate(resolve)); // an unhandled rejection would fail the run
  });
});

describe('forcing a key frame', () => {
  it('pauses and resumes the producer, and the doctor does not count that pause as the publisher’s', async () => {
    const seen: string[] = [];
    const producer = {
      id: 'p1',
      paused: false,
      async pause() {
        this.paused = true;
        seen.push(`pause: by publisher ${pausedByPublisher(this.id, this.paused)}`);
      },
      async resume() {
        this.paused = false;
        seen.push('resume');
      },
    };
    await forceKeyFrame(producer);
    expect(seen).toEqual(['pause: by publisher false', 'resume']);
    // A publisher's own pause (muted) is theirs, before and after.
    expect(pausedByPublisher('p1', true)).toBe(true);
    expect(pausedByPublisher('p1', false)).toBe(false);
  });

  it('a failed pause or resume leaves no producer marked', async () => {
    const producer = {
      id: 'p2',
      pause: () => Promise.reject(new Error('closed')),
      resume: () => Promise.resolve(),
    };
    await expect(forceKeyFrame(producer)).rejects.toThrow('closed');
    expect(pausedByPublisher('p2', true)).toBe(true);
  });
});
