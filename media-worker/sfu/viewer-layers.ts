import type { types } from 'mediasoup';

type Layers = types.ConsumerLayers;

/** What the climb needs of a consumer (a fake in unit tests). */
export type LayeredConsumer = Pick<types.Consumer, 'id' | 'type' | 'preferredLayers' | 'on' | 'off'> & {
  observer: Pick<types.Consumer['observer'], 'once'>;
};

/**
 * The spatial layers each viewer wants (its tile's size), and the climb that gets a resumed consumer a picture
 * fast: it starts on the lowest layer and is raised to the wanted one at its first picture.
 *
 * Why not aim at the wanted layer at once: mediasoup aims a consumer at the highest layer it has seen packets
 * of, and a browser that has just started publishing (a join, a media reset) sends every layer for a frame or
 * two and then turns the upper ones off while its bandwidth estimate is still low. mediasoup notices a silent
 * layer only at its next RTP inactivity check (every 1.5 s); until then it asks that silent layer for key
 * frames and the viewer sees black (seen after a media-worker was killed: a first picture 1.9 s after the
 * consumer was resumed, 2.7 s in a CI run, where 0.1–0.9 s is usual). The lowest layer is the one a publisher
 * keeps sending; once its picture shows, mediasoup climbs while still forwarding it, so a silent upper layer
 * costs quality for a moment, not the picture.
 */
export class ViewerLayers<C extends LayeredConsumer = types.Consumer> {
  private wishes = new Map<string, Layers>();
  /** Consumers on their lowest layer until their first picture: the listener that raises them. */
  private climbing = new Map<string, (layers?: Layers) => void>();

  constructor(private setLayers: (consumer: C, layers: Layers) => Promise<unknown>) {}

  /** The spatial layer the viewer wants (dynacast's input); undefined: it has not said, so any. */
  wanted(consumer: C): number | undefined {
    return this.wishes.get(consumer.id)?.spatialLayer;
  }

  /** The viewer's wish: applied now, or at the first picture if the consumer is still climbing. */
  async want(consumer: C, layers: Layers): Promise<void> {
    this.remember(consumer, layers);
    if (!this.climbing.has(consumer.id)) await this.setLayers(consumer, layers);
  }

  /** Before a video consumer is resumed: aim at its lowest layer, and climb to the wish at the first picture. */
  async startLow(consumer: C): Promise<void> {
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return;
    if (!this.wishes.has(consumer.id) && consumer.preferredLayers) this.remember(consumer, consumer.preferredLayers);
    this.stopClimb(consumer);
    const climb = (layers?: Layers) => {
      if (!layers) return;
      this.stopClimb(consumer);
      const wish = this.wishes.get(consumer.id);
      if (wish) void this.setLayers(consumer, wish).catch(() => undefined);
    };
    this.climbing.set(consumer.id, climb);
    consumer.on('layerschange', climb);
    await this.setLayers(consumer, { spatialLayer: 0 });
  }

  private remember(consumer: C, layers: Layers): void {
    if (!this.wishes.has(consumer.id)) consumer.observer.once('close', () => this.forget(consumer));
    this.wishes.set(consumer.id, layers);
  }

  private stopClimb(consumer: C): void {
    const climb = this.climbing.get(consumer.id);
    if (climb) consumer.off('layerschange', climb);
    this.climbing.delete(consumer.id);
  }

  private forget(consumer: C): void {
    this.stopClimb(consumer);
    this.wishes.delete(consumer.id);
  }
}
