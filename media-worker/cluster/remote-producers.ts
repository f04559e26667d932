import type { types } from 'mediasoup';
import { ParleyError } from '../../protocol/errors.ts';
import type { MediaResponse, RoomEvent, RoomPart } from '../../protocol/media.ts';
import type { RtpParameters } from '../../protocol/webrtc.ts';
import type { Federation } from './federation.ts';
import type { ProducerData } from '../sfu/peer.ts';

type Piped = { producer: types.Producer<ProducerData>; router: types.Router; instanceId: string };

const OWNER_WAIT_MS = 1_500;

/**
 * One room's producers that live on other media-worker instances, piped in over a PipeTransport when first
 * consumed here and kept in step with their origin through room events.
 */
export class RemoteProducers {
  private piped = new Map<string, Promise<Piped>>();
  /** Producers other instances announced (newProducer) that their room parts may not list yet. */
  private announced = new Set<string>();
  private readonly since = Date.now();

  constructor(
    private roomId: string,
    private federation: Federation,
  ) {}

  /** The producer on `router` (piping it in on first use), or NOT_FOUND if no instance hosts it. */
  get(producerId: string, router: types.Router): Promise<Piped> {
    let piped = this.piped.get(producerId);
    if (!piped) {
      piped = this.pipeIn(producerId, router);
      this.piped.set(producerId, piped);
      piped.catch(() => this.piped.delete(producerId));
    }
    return piped;
  }

  /** Producers piped in (or on their way): one PipeTransport each, however many consume them here. */
  get size(): number {
    return this.piped.size;
  }

  onRoomEvent(event: RoomEvent): void {
    if (event.type === 'newProducer') this.announced.add(event.producer.id);
    if (event.type === 'producerClosed') this.announced.delete(event.producerId);
    if (event.type !== 'producerClosed' && event.type !== 'producerPaused' && event.type !== 'producerResumed') return;
    const piped = this.piped.get(event.producerId);
    if (!piped) return;
    void piped.then(
      ({ producer }) => {
        if (event.type === 'producerClosed') {
          this.piped.delete(event.producerId);
          producer.close();
        } else if (event.type === 'producerPaused') void producer.pause();
        else void producer.resume();
      },
      () => undefined,
    );
  }

  /** Forgets producers piped onto routers that died with their worker; they are piped again on demand. */
  dropClosed(): void {
    for (const [id, piped] of this.piped)
      void piped.then(
        ({ router }) => router.closed && this.piped.delete(id),
        () => undefined,
      );
  }

  clear(): void {
    this.piped.clear();
  }

  /**
   * The instance hosting `producerId`. Its `newProducer` event can reach a subscriber, and its consume reach
   * us, before that instance's room part does (a KV watch), and right after a cut link the watch can be seconds
   * behind: a part not in our copy is read from the bucket itself. A producer announced but not listed yet gets a
   * moment to appear, as does any while this room is new here (it may have missed the announcement). A producer
   * nobody announced or lists is unknown after one read.
   */
  private async ownerOf(producerId: string): Promise<RoomPart> {
    const deadline = Date.now() + OWNER_WAIT_MS;
    const find = (parts: RoomPart[]) => parts.find((part) => part.producers.some((p) => p.id === producerId));
    const cached = find(await this.federation.remoteParts(this.roomId));
    if (cached) return cached;
    for (;;) {
      const owner = find(await this.federation.readParts(this.roomId));
      if (owner) return owner;
      const mayAppear = this.announced.has(producerId) || Date.now() - this.since < OWNER_WAIT_MS;
      if (!mayAppear || Date.now() > deadline) throw new ParleyError('NOT_FOUND', `unknown producer ${producerId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async pipeIn(producerId: string, router: types.Router): Promise<Piped> {
    const owner = await this.ownerOf(producerId);
    const transport = await router.createPipeTransport({ listenInfo: pipeListenInfo(this.federation), enableRtx: true });
    try {
      const { ip, port, kind, rtpParameters, paused, peerId, source } = await this.federation.requestPipe(owner.instanceId, {
        roomId: this.roomId,
        producerId,
        ip: this.federation.listen.announcedAddress,
        port: transport.tuple.localPort,
      });
      await transport.connect({ ip, port });
      const producer = await transport.produce<ProducerData>({
        id: producerId,
        kind,
        rtpParameters: rtpParameters as types.RtpParameters,
        paused,
        appData: { peerId, source },
      });
      producer.observer.once('close', () => transport.close());
      return { router, producer, instanceId: owner.instanceId };
    } catch (err) {
      transport.close();
      throw err;
    }
  }
}

/** Another instance wants our `producer` (on `router`): connect a PipeTransport to it and consume into it. */
export async function pipeOut(
  federation: Federation,
  router: types.Router,
  producer: types.Producer<ProducerData>,
  remote: { ip: string; port: number },
  open: Set<types.PipeTransport>,
): Promise<MediaResponse<'pipeProducer'>> {
  const transport = await router.createPipeTransport({ listenInfo: pipeListenInfo(federation), enableRtx: true });
  open.add(transport);
  transport.observer.once('close', () => open.delete(transport));
  let consumer: types.Consumer;
  try {
    await transport.connect(remote);
    consumer = await transport.consume({ producerId: producer.id });
  } catch (err) {
    transport.close();
    throw err;
  }
  // The pipe lives as long as the producer; the other side closes its end on our producerClosed event.
  consumer.observer.once('close', () => transport.close());
  return {
    ip: federation.listen.announcedAddress,
    port: transport.tuple.localPort,
    kind: consumer.kind,
    rtpParameters: consumer.rtpParameters as RtpParameters,
    paused: producer.paused,
    peerId: producer.appData.peerId,
    source: producer.appData.source,
  };
}

function pipeListenInfo({ listen }: Federation): types.TransportListenInfo {
  return { protocol: 'udp', ip: listen.ip, announcedAddress: listen.announcedAddress };
}
