import type { ConsumerShown } from '../client/index.ts';
import type { ClientNotification } from '../protocol/client.ts';
import type { Source } from '../protocol/room.ts';
import { wrtc } from './wrtc.ts';

const { RTCVideoSink } = wrtc.nonstandard;

/** One remote video producer as a bot saw it (times from performance.now()). */
export interface VideoTimeline {
  producerId: string;
  peerId: string;
  source: Source;
  announcedAt: number;
  consumedAt?: number;
  firstFrameAt?: number;
  /** producerClosed / peerLeft / consumerClosed arrived. */
  closedAt?: number;
}

/**
 * When a bot first saw remote video, and (with `everyVideo`) each video's announcement, consumer and first
 * frame. A frame sink per timed video only until its first frame: every frame in JS would cost CPU.
 */
export class VideoTimes {
  readonly timeline = new Map<string, VideoTimeline>();
  /** Join start → first decoded frame of any remote video. */
  firstRemoteVideoMs?: number;
  /** Sinks still waiting for a first frame, by producer: a native sink outliving its track crashes wrtc. */
  private sinks = new Map<string, InstanceType<typeof RTCVideoSink>>();

  constructor(
    private startedAt: number,
    private everyVideo: boolean,
  ) {}

  notified(n: ClientNotification): void {
    switch (n.notification) {
      case 'newProducer': {
        const { id, peerId, source, kind } = n.data.producer;
        if (this.everyVideo && kind === 'video' && !this.timeline.has(id)) {
          this.timeline.set(id, { producerId: id, peerId, source, announcedAt: performance.now() });
        }
        return;
      }
      case 'peerLeft':
        for (const t of this.timeline.values()) if (t.peerId === n.data.peerId) this.closed(t.producerId);
        return this.stopAll();
      case 'producerClosed':
      case 'consumerClosed':
        this.stop(n.data.producerId);
        return this.closed(n.data.producerId);
      case 'mediaReset':
        return this.stopAll();
      case 'remedy':
        if (n.data.action === 'reconsume') this.stop(n.data.producerId);
        return;
    }
  }

  /** Stops every sink (the bot closes, or its consumers all go). */
  stopAll(): void {
    for (const producerId of [...this.sinks.keys()]) this.stop(producerId);
  }

  shown(consumer: ConsumerShown): void {
    const timeline = this.timeline.get(consumer.producerId);
    if (timeline) timeline.consumedAt = performance.now();
    if (consumer.kind !== 'video' || (this.firstRemoteVideoMs !== undefined && !timeline)) return;
    this.stop(consumer.producerId);
    const sink = new RTCVideoSink(consumer.track);
    this.sinks.set(consumer.producerId, sink);
    sink.onframe = () => {
      this.firstRemoteVideoMs ??= Math.round(performance.now() - this.startedAt);
      if (timeline) timeline.firstFrameAt ??= performance.now();
      this.stop(consumer.producerId);
    };
  }

  private stop(producerId: string): void {
    const sink = this.sinks.get(producerId);
    this.sinks.delete(producerId);
    if (sink && !sink.stopped) sink.stop();
  }

  private closed(producerId: string): void {
    const t = this.timeline.get(producerId);
    if (t) t.closedAt ??= performance.now();
  }
}
