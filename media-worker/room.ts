import type { types } from 'mediasoup';
import { ParleyError } from '../protocol/errors.ts';
import type { MediaRequest, MediaResponse, RoomEvent } from '../protocol/media.ts';
import type { ProducerInfo, RtpCapabilities, RtpParameters, TransportOptions } from '../protocol/sdp.ts';
import { mediaCodecs } from './config.ts';
import type { PooledWorker } from './pool.ts';
import { Peer } from './peer.ts';
import type { ProducerData } from './peer.ts';

type Publish = (event: RoomEvent) => void;

/**
 * One room: a Router and everyone's transports, producers and consumers on it. It owns the room's
 * lifecycle (mediasoup-demo's Room.js is the model) and tells the rest of the room through `publish`.
 */
export class Room {
  private peers = new Map<string, Peer>();
  private closed = false;

  private constructor(
    readonly id: string,
    readonly router: types.Router,
    readonly host: PooledWorker,
    private publish: Publish,
    private maxPeers: number,
  ) {}

  static async create(id: string, host: PooledWorker, publish: Publish, maxPeers: number): Promise<Room> {
    const router = await host.worker.createRouter({ mediaCodecs });
    host.routers++;
    return new Room(id, router, host, publish, maxPeers);
  }

  get isEmpty(): boolean {
    return this.peers.size === 0;
  }

  join({ peerId, displayName }: MediaRequest<'join'>): MediaResponse<'join'> {
    if (this.peers.has(peerId)) throw new ParleyError('ALREADY_JOINED', `peer ${peerId} is already in ${this.id}`);
    if (this.peers.size >= this.maxPeers) throw new ParleyError('ROOM_FULL', `${this.id} has ${this.maxPeers} participants`);
    const peer = new Peer(peerId, displayName);
    this.peers.set(peerId, peer);
    this.publish({ type: 'peerJoined', roomId: this.id, peer: peer.info });
    return this.snapshot({ roomId: this.id, peerId });
  }

  snapshot({ peerId }: MediaRequest<'snapshot'>): MediaResponse<'snapshot'> {
    this.peer(peerId);
    const others = [...this.peers.values()].filter((p) => p.id !== peerId);
    return {
      routerRtpCapabilities: this.router.rtpCapabilities as RtpCapabilities,
      peers: others.map((p) => p.info),
      producers: others.flatMap((p) => [...p.producers.values()].map(producerInfo)),
    };
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  async createTransport({ peerId, direction }: MediaRequest<'createTransport'>): Promise<TransportOptions> {
    const peer = this.peer(peerId);
    const transport = await this.router.createWebRtcTransport({
      webRtcServer: this.host.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { peerId, direction },
    });
    peer.transports.set(transport.id, transport);
    transport.observer.on('close', () => peer.transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport({ peerId, transportId, dtlsParameters }: MediaRequest<'connectTransport'>) {
    await this.peer(peerId)
      .transport(transportId)
      .connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
    return {};
  }

  async produce(req: MediaRequest<'produce'>): Promise<MediaResponse<'produce'>> {
    const peer = this.peer(req.peerId);
    const transport = peer.transport(req.transportId);
    const producer = await transport.produce<ProducerData>({
      kind: req.kind,
      rtpParameters: req.rtpParameters as types.RtpParameters,
      appData: { peerId: peer.id, source: req.source },
    });
    peer.producers.set(producer.id, producer);
    producer.observer.on('close', () => {
      peer.producers.delete(producer.id);
      this.publish({ type: 'producerClosed', roomId: this.id, producerId: producer.id, peerId: peer.id });
    });
    this.publish({ type: 'newProducer', roomId: this.id, producer: producerInfo(producer) });
    return { producerId: producer.id };
  }

  closeProducer({ peerId, producerId }: MediaRequest<'closeProducer'>) {
    this.peer(peerId).producer(producerId).close();
    return {};
  }

  async consume(req: MediaRequest<'consume'>): Promise<MediaResponse<'consume'>> {
    const peer = this.peer(req.peerId);
    const transport = peer.transport(req.transportId);
    const producer = this.findProducer(req.producerId);
    const rtpCapabilities = req.rtpCapabilities as types.RtpCapabilities;
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw new ParleyError('UNSUPPORTED', `cannot consume ${producer.id} with these RTP capabilities`);
    }
    // Paused until the client has set up its side, so the first key frame is not lost (no black start).
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
    peer.consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => peer.consumers.delete(consumer.id));
    consumer.on('producerclose', () => {
      consumer.close();
      this.publish({
        type: 'consumerClosed',
        roomId: this.id,
        peerId: peer.id,
        consumerId: consumer.id,
        producerId: producer.id,
      });
    });
    return {
      id: consumer.id,
      producerId: producer.id,
      peerId: producer.appData.peerId,
      kind: consumer.kind,
      source: producer.appData.source,
      rtpParameters: consumer.rtpParameters as RtpParameters,
    };
  }

  async resumeConsumer({ peerId, consumerId }: MediaRequest<'resumeConsumer'>) {
    const consumer = this.peer(peerId).consumer(consumerId);
    await consumer.resume();
    // A fresh key frame so the decoder can start now rather than at the next periodic one.
    if (consumer.kind === 'video') await consumer.requestKeyFrame();
    return {};
  }

  leave({ peerId }: MediaRequest<'leave'>) {
    const peer = this.peer(peerId);
    peer.close();
    this.peers.delete(peerId);
    this.publish({ type: 'peerLeft', roomId: this.id, peerId });
    return {};
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.router.close();
    this.host.routers--;
  }

  counts() {
    let transports = 0;
    let producers = 0;
    let consumers = 0;
    for (const p of this.peers.values()) {
      transports += p.transports.size;
      producers += p.producers.size;
      consumers += p.consumers.size;
    }
    return { transports, producers, consumers };
  }

  private peer(peerId: string): Peer {
    const peer = this.peers.get(peerId);
    if (!peer) throw new ParleyError('NOT_JOINED', `peer ${peerId} is not in room ${this.id}`);
    return peer;
  }

  private findProducer(producerId: string): types.Producer<ProducerData> {
    for (const p of this.peers.values()) {
      const producer = p.producers.get(producerId);
      if (producer) return producer;
    }
    throw new ParleyError('NOT_FOUND', `unknown producer ${producerId}`);
  }
}

function producerInfo(producer: types.Producer<ProducerData>): ProducerInfo {
  return {
    id: producer.id,
    peerId: producer.appData.peerId,
    kind: producer.kind,
    source: producer.appData.source,
    paused: producer.paused,
  };
}
