import type { types } from 'mediasoup';
import { ParleyError } from '../protocol/errors.ts';
import type { MediaRequest, MediaResponse, RoomEvent } from '../protocol/media.ts';
import type { ProducerInfo, RtpCapabilities, RtpParameters, TransportOptions } from '../protocol/sdp.ts';
import { mediaCodecs } from './config.ts';
import { Peer } from './peer.ts';
import type { ProducerData } from './peer.ts';
import type { Federation } from './federation.ts';
import type { PooledWorker, WorkerPool } from './pool.ts';
import { pipeOut, RemoteProducers } from './remote-producers.ts';
import { KeyedSerial } from './serial.ts';
import { Speakers } from './speakers.ts';

type Publish = (event: RoomEvent) => void;

/**
 * One room: its Routers (one per worker it spans) and everyone's transports, producers and consumers. It
 * owns the room's lifecycle (mediasoup-demo's Room.js is the model) and tells the room through `publish`.
 * A participant lands on the room's first worker while that worker has consumer budget left, else on the
 * least-loaded one; producers reach other workers' routers through pipeToRouter.
 */
export class Room {
  private peers = new Map<string, Peer>();
  private routers = new Map<PooledWorker, types.Router>();
  private pipes = new Map<string, Promise<unknown>>();
  /** Producers of peers on other instances, piped in when first consumed here. */
  private remote: RemoteProducers;
  private serial = new KeyedSerial();
  private speakers?: { router: types.Router; observer: Speakers };
  private closed = false;
  /** Joins waiting for a router: the room is not empty while one is under way. */
  private joining = 0;

  constructor(
    readonly id: string,
    private pool: WorkerPool,
    private publish: Publish,
    private maxPeers: number,
    private federation: Federation,
  ) {
    this.remote = new RemoteProducers(id, federation);
  }

  get isEmpty(): boolean {
    return this.peers.size === 0 && this.joining === 0;
  }

  /** Whether any of this room's routers lives on `worker`. */
  uses(worker: PooledWorker): boolean {
    return this.routers.has(worker);
  }

  async join({ peerId, displayName }: MediaRequest<'join'>): Promise<MediaResponse<'join'>> {
    if (this.peers.has(peerId)) throw new ParleyError('ALREADY_JOINED', `peer ${peerId} is already in ${this.id}`);
    if (this.peers.size >= this.maxPeers) throw new ParleyError('ROOM_FULL', `${this.id} has ${this.maxPeers} participants`);
    const host = this.pickWorker();
    this.joining++;
    try {
      const router = await this.routerOn(host);
      if (this.peers.has(peerId)) throw new ParleyError('ALREADY_JOINED', `peer ${peerId} is already in ${this.id}`);
      this.peers.set(peerId, new Peer(peerId, displayName, host, router));
    } finally {
      this.joining--;
    }
    const peer = this.peer(peerId);
    this.publish({ type: 'peerJoined', roomId: this.id, peer: peer.info });
    this.savePart();
    return this.snapshot({ roomId: this.id, peerId });
  }

  /** The room as `peerId` sees it, including the peers and producers hosted by other instances. */
  async snapshot({ peerId }: MediaRequest<'snapshot'>): Promise<MediaResponse<'snapshot'>> {
    const peer = this.peer(peerId);
    const remote = await this.federation.remoteParts(this.id);
    return {
      routerRtpCapabilities: peer.router.rtpCapabilities as RtpCapabilities,
      peers: [...this.others(peerId).map((p) => p.info), ...remote.flatMap((part) => part.peers)],
      producers: [...this.producersOf(this.others(peerId)), ...remote.flatMap((part) => part.producers)],
    };
  }

  /** Tells other instances what this one hosts of the room (on every change and every heartbeat). */
  savePart(): void {
    const peers = [...this.peers.values()];
    void this.federation
      .savePart(this.id, peers.map((p) => p.info), this.producersOf(peers))
      .catch((err: Error) => console.error(`[media-worker] saving room part of ${this.id} failed: ${err.message}`));
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  async createTransport({ peerId, direction }: MediaRequest<'createTransport'>): Promise<TransportOptions> {
    const peer = this.peer(peerId);
    const transport = await peer.router.createWebRtcTransport({
      webRtcServer: peer.host.webRtcServer,
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

  async restartIce({ peerId, transportId }: MediaRequest<'restartIce'>): Promise<MediaResponse<'restartIce'>> {
    return { iceParameters: await this.peer(peerId).transport(transportId).restartIce() };
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
      this.savePart();
    });
    await this.observeSpeaker(peer, producer);
    this.publish({ type: 'newProducer', roomId: this.id, producer: producerInfo(producer) });
    this.savePart();
    return { producerId: producer.id };
  }

  pauseProducer(req: MediaRequest<'pauseProducer'>) {
    return this.setProducerPaused(req, true);
  }

  resumeProducer(req: MediaRequest<'resumeProducer'>) {
    return this.setProducerPaused(req, false);
  }

  private setProducerPaused({ peerId, producerId }: MediaRequest<'pauseProducer'>, paused: boolean) {
    const producer = this.peer(peerId).producer(producerId);
    return this.serial.run(producer.id, async () => {
      await (paused ? producer.pause() : producer.resume());
      this.publish({ type: paused ? 'producerPaused' : 'producerResumed', roomId: this.id, producerId, peerId });
      this.savePart();
      return {};
    });
  }

  closeProducer({ peerId, producerId }: MediaRequest<'closeProducer'>) {
    const producer = this.peer(peerId).producer(producerId);
    return this.serial.run(producer.id, () => {
      producer.close();
      return {};
    });
  }

  consume(req: MediaRequest<'consume'>): Promise<MediaResponse<'consume'>> {
    return this.serial.run(req.producerId, () => this.createConsumer(req));
  }

  resumeConsumer({ peerId, consumerId }: MediaRequest<'resumeConsumer'>) {
    const consumer = this.peer(peerId).consumer(consumerId);
    return this.serial.run(consumer.id, async () => {
      await consumer.resume();
      // A fresh key frame so the decoder can start now rather than at the next periodic one.
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
      return {};
    });
  }

  pauseConsumer({ peerId, consumerId }: MediaRequest<'pauseConsumer'>) {
    const consumer = this.peer(peerId).consumer(consumerId);
    return this.serial.run(consumer.id, async () => {
      await consumer.pause();
      return {};
    });
  }

  async setConsumerPreferredLayers({ peerId, consumerId, spatialLayer, temporalLayer }: MediaRequest<'setConsumerPreferredLayers'>) {
    const consumer = this.peer(peerId).consumer(consumerId);
    // A non-simulcast consumer (audio, screen share) has one layer: nothing to choose.
    if (consumer.type === 'simulcast' || consumer.type === 'svc') await consumer.setPreferredLayers({ spatialLayer, temporalLayer });
    return {};
  }

  async setConsumerPriority({ peerId, consumerId, priority }: MediaRequest<'setConsumerPriority'>) {
    await this.peer(peerId).consumer(consumerId).setPriority(priority);
    return {};
  }

  async requestKeyFrame({ peerId, consumerId }: MediaRequest<'requestKeyFrame'>) {
    const consumer = this.peer(peerId).consumer(consumerId);
    if (consumer.kind === 'video') await consumer.requestKeyFrame();
    return {};
  }

  leave({ peerId }: MediaRequest<'leave'>) {
    const peer = this.peer(peerId);
    peer.close();
    this.peers.delete(peerId);
    this.publish({ type: 'peerLeft', roomId: this.id, peerId });
    this.savePart();
    return {};
  }

  /** Another instance wants one of our producers piped to it. */
  pipeProducer({ producerId, ip, port }: MediaRequest<'pipeProducer'>): Promise<MediaResponse<'pipeProducer'>> {
    const [owner, producer] = this.findLocalProducer(producerId);
    return pipeOut(this.federation, owner.router, producer, { ip, port });
  }

  /** Room events from every instance: keeps producers piped in from elsewhere in step with their origin. */
  onRoomEvent(event: RoomEvent): void {
    this.remote.onRoomEvent(event);
  }

  /**
   * A worker died with some of our routers: its peers move to a live worker, and each is told to build its
   * transports again (its old ones died); everyone else's media never stopped.
   */
  async recover(dead: PooledWorker): Promise<void> {
    if (!this.routers.delete(dead)) return;
    if (this.speakers && this.speakers.router.closed) this.speakers = undefined;
    for (const key of [...this.pipes.keys()]) if (key.endsWith(`>${dead.index}`)) this.pipes.delete(key);
    this.remote.dropClosed();
    const moved = [...this.peers.values()].filter((p) => p.host === dead);
    for (const peer of moved) {
      peer.close();
      peer.host = this.pickWorker();
      peer.router = await this.routerOn(peer.host);
    }
    if (!this.speakers) {
      for (const peer of this.peers.values()) for (const producer of peer.producers.values()) await this.observeSpeaker(peer, producer);
    }
    for (const peer of moved) {
      this.publish({ type: 'mediaReset', roomId: this.id, peerId: peer.id, producers: this.producersOf(this.others(peer.id)) });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.remote.clear();
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const [worker, router] of this.routers) {
      router.close();
      worker.routers--;
    }
    this.routers.clear();
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
    return { routers: this.routers.size, transports, producers, consumers };
  }

  private async createConsumer(req: MediaRequest<'consume'>): Promise<MediaResponse<'consume'>> {
    const peer = this.peer(req.peerId);
    const transport = peer.transport(req.transportId);
    const { router: source, producer } = await this.locate(req.producerId, peer.router);
    const rtpCapabilities = req.rtpCapabilities as types.RtpCapabilities;
    await this.pipe(source, producer, peer.router);
    if (!peer.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw new ParleyError('UNSUPPORTED', `cannot consume ${producer.id} with these RTP capabilities`);
    }
    // Paused until the client has set up its side, so the first key frame is not lost (no black start).
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
    const host = peer.host;
    host.consumers++;
    peer.consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => {
      host.consumers--;
      peer.consumers.delete(consumer.id);
    });
    consumer.on('producerclose', () => {
      consumer.close();
      this.publish({ type: 'consumerClosed', roomId: this.id, peerId: peer.id, consumerId: consumer.id, producerId: producer.id });
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

  /** Makes `producer` (living on `source`) available on `router`, once per pair: rooms that span workers. */
  private pipe(source: types.Router, producer: types.Producer, router: types.Router): Promise<unknown> {
    if (source === router) return Promise.resolve();
    const target = [...this.routers].find(([, r]) => r === router)?.[0];
    const key = `${producer.id}>${target?.index}`;
    let piped = this.pipes.get(key);
    if (!piped) {
      piped = source.pipeToRouter({ producerId: producer.id, router });
      this.pipes.set(key, piped);
      producer.observer.once('close', () => this.pipes.delete(key));
      piped.catch(() => this.pipes.delete(key));
    }
    return piped;
  }

  /** Active speaker detection needs every microphone on one router: the room's first one. */
  private async observeSpeaker(peer: Peer, producer: types.Producer<ProducerData>): Promise<void> {
    if (producer.kind !== 'audio' || producer.appData.source !== 'microphone') return;
    if (!this.speakers) {
      const router = peer.router;
      this.speakers = { router, observer: await Speakers.observe(router, this.id, this.publish) };
    }
    await this.pipe(peer.router, producer, this.speakers.router);
    await this.speakers.observer.add(producer);
  }

  private pickWorker(): PooledWorker {
    for (const worker of this.routers.keys()) if (this.pool.hasRoom(worker) && this.pool.all.includes(worker)) return worker;
    return this.pool.leastLoaded();
  }

  private async routerOn(worker: PooledWorker): Promise<types.Router> {
    const existing = this.routers.get(worker);
    if (existing) return existing;
    const router = await worker.worker.createRouter({ mediaCodecs });
    // Another join may have created one meanwhile: keep the first.
    const raced = this.routers.get(worker);
    if (raced) {
      router.close();
      return raced;
    }
    worker.routers++;
    this.routers.set(worker, router);
    return router;
  }

  private peer(peerId: string): Peer {
    const peer = this.peers.get(peerId);
    if (!peer) throw new ParleyError('NOT_JOINED', `peer ${peerId} is not in room ${this.id}`);
    return peer;
  }

  private others(peerId: string): Peer[] {
    return [...this.peers.values()].filter((p) => p.id !== peerId);
  }

  private producersOf(peers: Peer[]): ProducerInfo[] {
    return peers.flatMap((p) => [...p.producers.values()].map(producerInfo));
  }

  private findLocalProducer(producerId: string): [Peer, types.Producer<ProducerData>] {
    for (const p of this.peers.values()) {
      const producer = p.producers.get(producerId);
      if (producer) return [p, producer];
    }
    throw new ParleyError('NOT_FOUND', `unknown producer ${producerId}`);
  }

  /** Where a producer can be consumed from: our own, or one of another instance's piped in onto `router`. */
  private async locate(producerId: string, router: types.Router) {
    for (const p of this.peers.values()) {
      const producer = p.producers.get(producerId);
      if (producer) return { router: p.router, producer };
    }
    return this.remote.get(producerId, router);
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
