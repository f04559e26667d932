import type { types } from 'mediasoup';
import { ParleyError } from '../../protocol/errors.ts';
import type { MediaRequest, MediaResponse, RoomEvent } from '../../protocol/media.ts';
import { assertCodecsOfKind } from '../../protocol/webrtc.ts';
import type { RtpCapabilities, RtpParameters, TransportOptions } from '../../protocol/webrtc.ts';
import { assertSourceKind } from '../../protocol/room.ts';
import type { ProducerInfo } from '../../protocol/room.ts';
import { mediaCodecs } from '../config.ts';
import { diagnosePeer } from '../doctor/diagnosis.ts';
import { Doctor } from '../doctor/doctor.ts';
import type { HealthCounters } from '../metrics.ts';
import { Peer, producerInfo } from './peer.ts';
import type { ProducerData } from './peer.ts';
import type { Federation } from '../cluster/federation.ts';
import type { PooledWorker, WorkerPool } from './pool.ts';
import { LostNews } from '../cluster/lost-news.ts';
import { pipeOut, RemoteProducers } from '../cluster/remote-producers.ts';
import { forceKeyFrame, onSoundAfterSilence } from './key-frames.ts';
import type { KeyFrameCause } from './key-frames.ts';
import { KeyedSerial } from './serial.ts';
import { mediasoupCall } from './spans.ts';
import type { MediaIds } from './spans.ts';
import { Speakers } from './speakers.ts';
import { Dynacast } from './dynacast.ts';
import { ViewerLayers } from './viewer-layers.ts';
import { log } from '../../tracing/log.ts';

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
  /** Peers hosted elsewhere whose instance does not answer now (told to the room when it changes). */
  private unreachable = new Set<string>();
  /** Producers of peers on other instances, piped in when first consumed here. */
  private remote: RemoteProducers;
  /** Whether news of other instances' peers and producers was lost on its way here. */
  private news: LostNews;
  private serial = new KeyedSerial();
  private speakers?: { router: types.Router; observer: Speakers };
  /** The latest dominant speaker, for the snapshots of those who join after it changed. */
  private activeSpeaker: string | null = null;
  private closed = false;
  /** Joins waiting for a router: the room is not empty while one is under way. */
  private joining = 0;
  /** The black-screen doctor: watches this room's consumers (doctor.ts). */
  readonly doctor: Doctor;
  /** Which simulcast layers each publisher sends: those its consumers want (dynacast.ts). */
  private dynacast: Dynacast;
  /** The layers each viewer wants, and the climb to them from a resumed consumer's first picture. */
  private layers: ViewerLayers;
  /** Producers of ours piped to other instances (their viewers' layer wishes are not known here). */
  private pipedOut = new Set<string>();
  /** The PipeTransports carrying them, one per producer per instance that asked (for the load figures). */
  private pipesOut = new Set<types.PipeTransport>();

  constructor(
    readonly id: string,
    private pool: WorkerPool,
    private publish: Publish,
    private maxPeers: number,
    private federation: Federation,
    counters: HealthCounters,
  ) {
    this.news = new LostNews(federation.otherParts(id));
    this.remote = new RemoteProducers(id, federation, {
      serial: (key, operation) => this.serial.run(key, operation),
      forceKeyFrame: (producer) => this.forceKeyFrame(producer, 'pipe-return'),
    });
    this.layers = new ViewerLayers((consumer, layers) =>
      mediasoupCall('setPreferredLayers', { room: id, consumer: consumer.id, producer: consumer.producerId }, () =>
        consumer.setPreferredLayers(layers),
      ),
    );
    this.dynacast = new Dynacast({
      roomId: id,
      publish,
      wanted: (consumer) => this.layers.wanted(consumer),
      consumersOf: (producerId) =>
        [...this.peers.values()].flatMap((p) => [...p.consumers.values()].filter((c) => c.producerId === producerId)),
      pipedOut: (producerId) => this.pipedOut.has(producerId),
    });
    this.doctor = new Doctor({
      roomId: id,
      publish,
      serial: (key, operation) => this.serial.run(key, operation),
      resetMedia: (peerId) => this.resetMedia(peerId),
      startLow: (consumer) => this.layers.startLow(consumer),
      counters,
      limitLayers: (producerId, cap) => this.dynacast.setCap(producerId, cap),
      layers: (producerId) => this.dynacast.state(producerId),
    });
  }

  /** Every DOCTOR_TICK_MS: the doctor looks at everything, and dynacast lowers what is no longer wanted. */
  async tick(): Promise<void> {
    this.dynacast.tick();
    await this.doctor.tick();
  }

  get isEmpty(): boolean {
    return this.peers.size === 0 && this.joining === 0;
  }

  /** Whether any of this room's routers lives on `worker`. */
  uses(worker: PooledWorker): boolean {
    return this.routers.has(worker);
  }

  async join({ peerId, displayName, identity }: MediaRequest<'join'>): Promise<MediaResponse<'join'>> {
    if (this.peers.has(peerId)) throw new ParleyError('ALREADY_JOINED', `peer ${peerId} is already in ${this.id}`);
    if (this.peers.size >= this.maxPeers) throw new ParleyError('ROOM_FULL', `${this.id} has ${this.maxPeers} participants`);
    const host = this.pickWorker();
    this.joining++;
    try {
      const router = await this.routerOn(host);
      if (this.peers.has(peerId)) throw new ParleyError('ALREADY_JOINED', `peer ${peerId} is already in ${this.id}`);
      this.peers.set(peerId, new Peer(peerId, displayName, identity, host, router));
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
    // The copy of another part may have gone stale since the last sweep (its watch still behind after a cut):
    // read it again now, or a peer announced reachable a moment ago would be missing and taken for gone.
    await this.federation.catchUp(this.id);
    const remote = await this.federation.remoteParts(this.id);
    // Peers behind a cut link are in the room too: listed as unreachable (as the room was told), without their
    // producers, which cannot be piped until the link returns.
    this.updateReachability();
    const reached = (id: string) => !this.unreachable.has(id);
    const cut = new Map(
      this.federation
        .otherParts(this.id)
        .flatMap((part) => part.peers)
        .filter((p) => !reached(p.id))
        .map((p) => [p.id, p]),
    );
    return {
      routerRtpCapabilities: peer.router.rtpCapabilities as RtpCapabilities,
      peers: [
        ...this.others(peerId).map((p) => p.info),
        ...remote.flatMap((part) => part.peers).filter((p) => reached(p.id)),
        ...cut.values(),
      ],
      producers: [
        ...this.producersOf(this.others(peerId)),
        ...remote.flatMap((part) => part.producers).filter((p) => reached(p.peerId)),
      ],
      activeSpeaker: this.activeSpeaker ?? remote.find((part) => part.activeSpeaker)?.activeSpeaker ?? null,
      unreachable: [...cut.keys()],
    };
  }

  /** Instances holding the room's other parts, for the reachability probe. */
  otherInstances(): string[] {
    return this.federation.otherParts(this.id).map((part) => part.instanceId);
  }

  /**
   * After a reachability probe: tells the room which peers hosted elsewhere cannot be reached now (their
   * instance does not answer, or what we know of its part is out of date), and which can again. They stay in
   * the room either way; their instance still renews them. Then whether news from elsewhere was lost (LostNews).
   */
  updateReachability(): void {
    const parts = this.federation.otherParts(this.id);
    const peersOf = (answers: boolean) =>
      parts.filter((part) => this.federation.reaches(part) === answers).flatMap((part) => part.peers.map((p) => p.id));
    // A dead instance's part lingers; its peers that moved (a failover) are here or on an answering instance.
    const seen = new Set([...this.peers.keys(), ...peersOf(true)]);
    const cut = new Set(peersOf(false).filter((id) => !seen.has(id)));
    this.remote.cutOff(new Set(parts.filter((part) => !this.federation.reaches(part)).map((part) => part.instanceId)));
    const lost = [...cut].filter((id) => !this.unreachable.has(id));
    const back = [...this.unreachable].filter((id) => !cut.has(id));
    this.unreachable = cut;
    if (lost.length > 0) this.publish({ type: 'peerReachability', roomId: this.id, peerIds: lost, reachable: false });
    if (back.length > 0) this.publish({ type: 'peerReachability', roomId: this.id, peerIds: back, reachable: true });
    if (!this.news.sweep(parts)) return;
    log.warn('news of peers or producers elsewhere was lost on its way here; members compare their view', { room: this.id });
    this.publish({ type: 'newsLost', roomId: this.id });
  }

  /** Tells other instances what this one hosts of the room (on every change and every heartbeat). */
  savePart(): void {
    const peers = [...this.peers.values()];
    void this.federation
      .savePart(this.id, {
        peers: peers.map((p) => p.info),
        producers: this.producersOf(peers),
        activeSpeaker: this.activeSpeaker,
      })
      .catch((err: Error) => log.error('saving the room part failed', { room: this.id, error: err.message }));
  }

  has(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  identityOf(peerId: string): string | undefined {
    return this.peers.get(peerId)?.identity;
  }

  async createTransport({ peerId, direction }: MediaRequest<'createTransport'>): Promise<TransportOptions> {
    const peer = this.peer(peerId);
    const transport = await peer.addTransport(() =>
      this.call('createWebRtcTransport', { peer }, () =>
        peer.router.createWebRtcTransport({
          webRtcServer: peer.host.webRtcServer,
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          initialAvailableOutgoingBitrate: 1_000_000,
          appData: { peerId, direction },
        }),
      ),
    );
    this.doctor.watchTransport(transport);
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  /** A load tester's plain RTP transport (the grant is checked by signaling: protocol/operations.ts). */
  async createPlainTransport({ peerId }: MediaRequest<'createPlainTransport'>): Promise<MediaResponse<'createPlainTransport'>> {
    const peer = this.peer(peerId);
    const transport = await peer.addTransport(() =>
      this.call('createPlainTransport', { peer }, () =>
        peer.router.createPlainTransport({
          listenInfo: { protocol: 'udp', ...peer.host.listen },
          comedia: true,
          rtcpMux: true,
          appData: { peerId, direction: 'plain' },
        }),
      ),
    );
    this.doctor.watchTransport(transport);
    const { localAddress, localIp, localPort } = transport.tuple;
    return { id: transport.id, ip: localAddress ?? localIp, port: localPort };
  }

  async connectTransport({ peerId, transportId, dtlsParameters }: MediaRequest<'connectTransport'>) {
    const peer = this.peer(peerId);
    const transport = peer.webRtcTransport(transportId);
    await this.call('connect', { peer, transport: transportId }, () =>
      transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters }),
    );
    return {};
  }

  async restartIce({ peerId, transportId }: MediaRequest<'restartIce'>): Promise<MediaResponse<'restartIce'>> {
    const peer = this.peer(peerId);
    const transport = peer.webRtcTransport(transportId);
    return { iceParameters: await this.call('restartIce', { peer, transport: transportId }, () => transport.restartIce()) };
  }

  async produce(req: MediaRequest<'produce'>): Promise<MediaResponse<'produce'>> {
    const peer = this.peer(req.peerId);
    const transport = peer.transport(req.transportId);
    assertSourceKind(req.source, req.kind);
    assertCodecsOfKind(req.kind, req.rtpParameters);
    const producer = await peer.addProducer(req.source, () =>
      this.call('produce', { peer, transport: transport.id }, () =>
        transport.produce<ProducerData>({
          kind: req.kind,
          rtpParameters: req.rtpParameters as types.RtpParameters,
          appData: { peerId: peer.id, source: req.source },
        }),
      ),
    );
    this.doctor.watchProducer(producer, transport);
    onSoundAfterSilence(producer, () => this.forceKeyFrame(producer, 'sound-after-silence'));
    this.dynacast.add(producer, peer.id);
    producer.observer.on('close', () => {
      this.pipedOut.delete(producer.id);
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
    const peer = this.peer(peerId);
    const producer = peer.producer(producerId);
    return this.serial.run(producer.id, async () => {
      const change = () => (paused ? producer.pause() : producer.resume());
      await this.call(paused ? 'pauseProducer' : 'resumeProducer', { peer, producer: producerId }, change);
      this.publish({ type: paused ? 'producerPaused' : 'producerResumed', roomId: this.id, producerId, peerId });
      this.savePart();
      return {};
    });
  }

  closeProducer({ peerId, producerId }: MediaRequest<'closeProducer'>) {
    const peer = this.peer(peerId);
    const producer = peer.producer(producerId);
    return this.serial.run(producer.id, async () => {
      await this.call('closeProducer', { peer, producer: producerId }, () => producer.close());
      return {};
    });
  }

  consume(req: MediaRequest<'consume'>): Promise<MediaResponse<'consume'>> {
    return this.serial.run(req.producerId, () => this.createConsumer(req));
  }

  resumeConsumer({ peerId, consumerId }: MediaRequest<'resumeConsumer'>) {
    const peer = this.peer(peerId);
    const consumer = peer.consumer(consumerId);
    const ids = { peer, consumer: consumerId, producer: consumer.producerId };
    return this.serial.run(consumer.id, async () => {
      await this.layers.startLow(consumer);
      await this.call('resumeConsumer', ids, () => consumer.resume());
      this.doctor.clientSetPaused(consumerId, false);
      this.dynacast.update(consumer.producerId);
      // A fresh key frame so the decoder can start now rather than at the next periodic one.
      if (consumer.kind === 'video') await this.call('requestKeyFrame', ids, () => consumer.requestKeyFrame());
      return {};
    });
  }

  pauseConsumer({ peerId, consumerId }: MediaRequest<'pauseConsumer'>) {
    const peer = this.peer(peerId);
    const consumer = peer.consumer(consumerId);
    return this.serial.run(consumer.id, async () => {
      await this.call('pauseConsumer', { peer, consumer: consumerId, producer: consumer.producerId }, () => consumer.pause());
      this.doctor.clientSetPaused(consumerId, true);
      this.dynacast.update(consumer.producerId);
      return {};
    });
  }

  async setConsumerPreferredLayers({
    peerId,
    consumerId,
    spatialLayer,
    temporalLayer,
  }: MediaRequest<'setConsumerPreferredLayers'>) {
    const peer = this.peer(peerId);
    const consumer = peer.consumer(consumerId);
    // A non-simulcast consumer (audio, screen share) has one layer: nothing to choose.
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return {};
    await this.layers.want(consumer, { spatialLayer, temporalLayer });
    // A viewer wanting more than the publisher sends: dynacast turns the layer on at once.
    this.dynacast.update(consumer.producerId);
    return {};
  }

  async setConsumerPriority({ peerId, consumerId, priority }: MediaRequest<'setConsumerPriority'>) {
    const peer = this.peer(peerId);
    const consumer = peer.consumer(consumerId);
    await this.call('setPriority', { peer, consumer: consumerId }, () => consumer.setPriority(priority));
    return {};
  }

  async requestKeyFrame({ peerId, consumerId }: MediaRequest<'requestKeyFrame'>) {
    const peer = this.peer(peerId);
    const consumer = peer.consumer(consumerId);
    if (consumer.kind === 'video')
      await this.call('requestKeyFrame', { peer, consumer: consumerId }, () => consumer.requestKeyFrame());
    return {};
  }

  /** The client's view of its producers, about once a second: evidence for the publisher's side of the doctor. */
  reportProducerStats({ peerId, producers }: MediaRequest<'reportProducerStats'>) {
    this.peer(peerId);
    this.doctor.reportProducers(peerId, producers);
    return {};
  }

  /** The client's view of its consumers, about once a second: evidence for the doctor. */
  reportConsumerStats({ peerId, consumers }: MediaRequest<'reportConsumerStats'>) {
    this.peer(peerId); // only a member reports (NOT_JOINED otherwise)
    this.doctor.report(peerId, consumers);
    return {};
  }

  /** This instance's part of the room, with the doctor's verdict on every consumer. */
  async diagnose(): Promise<MediaResponse<'diagnose'>> {
    const peers = await Promise.all([...this.peers.values()].map((peer) => diagnosePeer(peer, this.doctor)));
    const { instanceId, region } = this.federation;
    return { roomId: this.id, instanceId, region, peers };
  }

  leave({ peerId }: MediaRequest<'leave'>) {
    const peer = this.peer(peerId);
    peer.close();
    this.peers.delete(peerId);
    this.doctor.forgetPeer(peerId);
    if (this.activeSpeaker === peerId) this.activeSpeaker = null;
    this.publish({ type: 'peerLeft', roomId: this.id, peerId });
    this.savePart();
    return {};
  }

  /** Another instance wants one of our producers piped to it. */
  pipeProducer({ producerId, ip, port }: MediaRequest<'pipeProducer'>): Promise<MediaResponse<'pipeProducer'>> {
    this.federation.assertPipeTarget(ip);
    const [owner, producer] = this.findLocalProducer(producerId);
    this.pipedOut.add(producerId);
    this.dynacast.update(producerId);
    return pipeOut(this.federation, owner.router, producer, { ip, port }, this.pipesOut);
  }

  /** Room events from every instance: keeps producers piped in from elsewhere in step with their origin. */
  onRoomEvent(event: RoomEvent): void {
    this.remote.onRoomEvent(event);
    this.news.hear(event);
    if (event.type === 'producerVerdict') this.doctor.remoteProducerVerdict(event.producerId, event.fault);
  }

  /**
   * A worker died with some of our routers: its peers move to a live worker, and each is told to build its
   * transports again (its old ones died); everyone else's media never stopped.
   */
  async recover(dead: PooledWorker): Promise<void> {
    if (!this.routers.delete(dead)) return;
    if (this.speakers?.router.closed) this.speakers = undefined;
    for (const key of [...this.pipes.keys()]) if (key.endsWith(`>${dead.index}`)) this.pipes.delete(key);
    this.remote.dropClosed();
    const moved = [...this.peers.values()].filter((p) => p.host === dead);
    for (const peer of moved) {
      peer.close();
      peer.host = this.pickWorker();
      peer.router = await this.routerOn(peer.host);
    }
    if (!this.speakers) {
      for (const peer of this.peers.values())
        for (const producer of peer.producers.values()) await this.observeSpeaker(peer, producer);
    }
    for (const peer of moved) this.tellToRebuild(peer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.doctor.close();
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
    return {
      routers: this.routers.size,
      transports,
      producers,
      consumers,
      pipesIn: this.remote.size,
      pipesOut: this.pipesOut.size,
    };
  }

  /** A peer's media is beyond repair in place: its transports close and its client builds them again. */
  private resetMedia(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    peer.close();
    this.tellToRebuild(peer);
    this.savePart();
  }

  private tellToRebuild(peer: Peer): void {
    this.publish({ type: 'mediaReset', roomId: this.id, peerId: peer.id, producers: this.producersOf(this.others(peer.id)) });
  }

  private async createConsumer(req: MediaRequest<'consume'>): Promise<MediaResponse<'consume'>> {
    const peer = this.peer(req.peerId);
    const transport = peer.transport(req.transportId);
    const { router: source, producer, instanceId: pipedFrom } = await this.locate(req.producerId, peer.router);
    const rtpCapabilities = req.rtpCapabilities as types.RtpCapabilities;
    await this.pipe(source, producer, peer.router);
    const ids = { peer, transport: transport.id, producer: producer.id };
    // Paused until the client has set up its side, so the first key frame is not lost (no black start).
    const consumer = await this.call('consume', ids, () => {
      if (!peer.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
        this.doctor.unsupported(peer.id, producer, producer.appData.peerId);
        throw new ParleyError('UNSUPPORTED', `cannot consume ${producer.id} with these RTP capabilities`);
      }
      return transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
    });
    // A client consumes a producer once; consuming it again (the doctor's `reconsume`) replaces the old one.
    for (const old of peer.consumers.values()) if (old.producerId === producer.id) old.close();
    const host = peer.host;
    peer.consumers.set(consumer.id, consumer);
    this.pool.countConsumer(host, consumer); // after the set: a registry write it triggers counts this consumer
    consumer.observer.on('close', () => {
      peer.consumers.delete(consumer.id);
      this.dynacast.update(consumer.producerId);
    });
    const owner = {
      peerId: peer.id,
      producerPeerId: producer.appData.peerId,
      source: producer.appData.source,
      pipedFrom: pipedFrom ?? null,
    };
    this.doctor.watch(consumer, producer, transport, owner, host.worker.pid);
    consumer.on('producerclose', () => {
      this.doctor.producerClosed(consumer.id);
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

  /** Makes `producer` (living on `source`) available on `router`, once per pair: rooms that span workers. */
  private pipe(source: types.Router, producer: types.Producer, router: types.Router): Promise<unknown> {
    if (source === router) return Promise.resolve();
    const target = [...this.routers].find(([, r]) => r === router)?.[0];
    const key = `${producer.id}>${target?.index}`;
    let piped = this.pipes.get(key);
    if (!piped) {
      const ids = { room: this.id, producer: producer.id, workerPid: target?.worker.pid };
      piped = mediasoupCall('pipeToRouter', ids, () => source.pipeToRouter({ producerId: producer.id, router }));
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
      const publish: Publish = (event) => {
        if (event.type === 'activeSpeaker') this.activeSpeaker = event.peerId;
        this.publish(event);
      };
      this.speakers = { router, observer: await Speakers.observe(router, this.id, publish) };
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
    const ids = { room: this.id, workerPid: worker.worker.pid };
    const router = await mediasoupCall('createRouter', ids, () => worker.worker.createRouter({ mediaCodecs }));
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

  /**
   * Asks the producer's sender for a key frame now (sfu/key-frames.ts), serial with the producer's own pause and
   * resume: one made meanwhile is its publisher's, not undone here, and a paused producer is left alone.
   */
  private forceKeyFrame(producer: types.Producer, cause: KeyFrameCause): Promise<void> {
    return this.serial.run(producer.id, async () => {
      if (producer.paused || producer.closed) return;
      this.doctor.keyFrameForced(producer.id, cause);
      await mediasoupCall('forceKeyFrame', { room: this.id, producer: producer.id }, () => forceKeyFrame(producer));
    });
  }

  /** A mediasoup call as a span, with the room, the peer and the peer's worker filled in. */
  private call<T>(
    name: string,
    ids: Omit<MediaIds, 'room' | 'peer' | 'workerPid'> & { peer: Peer },
    fn: () => Promise<T> | T,
  ): Promise<T> {
    const { peer, ...rest } = ids;
    return mediasoupCall(name, { room: this.id, peer: peer.id, workerPid: peer.host.worker.pid, ...rest }, fn);
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
      if (producer) return { router: p.router, producer, instanceId: undefined };
    }
    return this.remote.get(producerId, router);
  }
}
