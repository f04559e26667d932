import type { types } from 'mediasoup';
import { ParleyError } from '../../protocol/errors.ts';
import type { MediaResponse, RoomEvent, RoomPart } from '../../protocol/media.ts';
import type { RtpParameters } from '../../protocol/webrtc.ts';
import type { Federation } from './federation.ts';
import type { ProducerData } from '../sfu/peer.ts';

type Piped = { producer: types.Producer<ProducerData>; router: types.Router; instanceId: string };

const OWNER_WAIT_MS = 1_500;
/** How often video piped in from an instance behind a cut link is checked for media arriving again. */
const RETURN_POLL_MS = 200;
/** A producer whose media has not come back by then (its owner died, its publisher stopped) is no longer checked. */
const RETURN_WATCH_MS = 60_000;

/**
 * One room's producers that live on other media-worker instances, piped in over a PipeTransport when first
 * consumed here and kept in step with their origin through room events.
 */
export class RemoteProducers {
  private piped = new Map<string, Promise<Piped>>();
  /** Producers other instances announced (newProducer) that their room parts may not list yet. */
  private announced = new Set<string>();
  private readonly since = Date.now();
  /** Instances found behind a cut link at the last reachability probe. */
  private cut = new Set<string>();
  /** Video piped in from them, with its packet count when the cut was found and when that was. */
  private returning = new Map<types.Producer, { packets: number; at: number }>();
  private returnPoll?: ReturnType<typeof setInterval>;
  private polling = false;

  /**
   * `serial`: the room's, per producer, so its owner's pause and resume and a forced key frame never interleave;
   * `forceKeyFrame`: the room's (in that serial, counted and traced).
   */
  constructor(
    private roomId: string,
    private federation: Federation,
    private room: {
      serial: (key: string, operation: () => Promise<unknown>) => Promise<unknown>;
      forceKeyFrame: (producer: types.Producer) => Promise<void>;
    },
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
        } else {
          const paused = event.type === 'producerPaused';
          void this.room.serial(producer.id, () => (paused ? producer.pause() : producer.resume())).catch(() => undefined);
        }
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
    this.returning.clear();
    clearInterval(this.returnPoll);
    this.returnPoll = undefined;
  }

  /**
   * After a reachability probe: `cut` are the instances that cannot be reached now. Video piped in from one that
   * was just cut off gets a key frame as soon as its media arrives again. The key-frame requests our consumers made
   * into the cut are pending at the pipe producer, which repeats a pending one at most once a second (mediasoup's
   * KeyFrameRequestManager), so the picture would come back up to a second after the media; and a pipe producer has
   * no inactivity check whose score could say when its media is back (see key-frames.ts), so its packets are counted.
   */
  cutOff(cut: Set<string>): void {
    const fresh = [...cut].filter((id) => !this.cut.has(id));
    this.cut = cut;
    if (fresh.length === 0) return;
    for (const piped of this.piped.values())
      void piped.then(
        async ({ producer, instanceId }) => {
          if (producer.kind !== 'video' || !fresh.includes(instanceId)) return;
          this.returning.set(producer, { packets: await packetCount(producer), at: Date.now() });
          this.returnPoll ??= setInterval(() => void this.pollReturns(), RETURN_POLL_MS);
        },
        () => undefined,
      );
  }

  private async pollReturns(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [producer, { packets, at }] of this.returning) {
        const gone = producer.closed || Date.now() - at > RETURN_WATCH_MS;
        if (!gone && (await packetCount(producer).catch(() => packets)) <= packets) continue;
        this.returning.delete(producer);
        if (!gone) await this.room.forceKeyFrame(producer).catch(() => undefined);
      }
    } finally {
      this.polling = false;
    }
    if (this.returning.size > 0) return;
    clearInterval(this.returnPoll);
    this.returnPoll = undefined;
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

async function packetCount(producer: types.Producer): Promise<number> {
  return (await producer.getStats()).reduce((sum, stream) => sum + stream.packetCount, 0);
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
