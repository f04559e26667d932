import type { types } from 'mediasoup';
import { ParleyError } from '../../protocol/errors.ts';
import { MAX_PRODUCERS_PER_SOURCE, MAX_TRANSPORTS_PER_PEER } from '../../protocol/limits.ts';
import type { PeerInfo, ProducerInfo, Source } from '../../protocol/room.ts';
import type { PooledWorker } from './pool.ts';

// A type alias, not an interface: mediasoup's AppData needs an index signature.
export type ProducerData = {
  peerId: string;
  source: Source;
};

/** A browser's WebRTC transport, or a load tester's plain RTP one (createPlainTransport). */
export type PeerTransport = types.WebRtcTransport | types.PlainTransport;

/** One participant's mediasoup objects; every lookup checks ownership so ids of others are NOT_FOUND. */
export class Peer {
  readonly transports = new Map<string, PeerTransport>();
  readonly producers = new Map<string, types.Producer<ProducerData>>();
  readonly consumers = new Map<string, types.Consumer>();
  /** Transports and sources being created now: counted against the caps before mediasoup answers. */
  private pendingTransports = 0;
  private pendingSources = new Set<Source>();

  constructor(
    readonly id: string,
    readonly displayName: string,
    /** The user's identity (from the token), for webhooks. */
    readonly identity: string | undefined,
    /** The worker and router this peer's transports live on. */
    public host: PooledWorker,
    public router: types.Router,
  ) {}

  get info(): PeerInfo {
    return { id: this.id, displayName: this.displayName };
  }

  transport(id: string): PeerTransport {
    return found(this.transports.get(id), 'transport', id);
  }

  /** For what only WebRTC transports do (DTLS connect, ICE restart). */
  webRtcTransport(id: string): types.WebRtcTransport {
    const transport = this.transport(id);
    if (transport.type !== 'webrtc') throw new ParleyError('BAD_REQUEST', `transport ${id} is a plain RTP transport`);
    return transport;
  }

  producer(id: string): types.Producer<ProducerData> {
    return found(this.producers.get(id), 'producer', id);
  }

  consumer(id: string): types.Consumer {
    return found(this.consumers.get(id), 'consumer', id);
  }

  /** Creates and holds a transport if the peer has one to spare (MAX_TRANSPORTS_PER_PEER), else LIMIT. */
  async addTransport<T extends PeerTransport>(create: () => Promise<T>): Promise<T> {
    if (this.transports.size + this.pendingTransports >= MAX_TRANSPORTS_PER_PEER) {
      throw new ParleyError('LIMIT', `a peer holds at most ${MAX_TRANSPORTS_PER_PEER} transports at once`);
    }
    this.pendingTransports++;
    try {
      const transport = await create();
      this.transports.set(transport.id, transport);
      (transport.observer as types.TransportObserver).on('close', () => this.transports.delete(transport.id));
      return transport;
    } finally {
      this.pendingTransports--;
    }
  }

  /** Creates and holds a producer if the peer has none of `source` yet (MAX_PRODUCERS_PER_SOURCE), else LIMIT. */
  async addProducer(source: Source, create: () => Promise<types.Producer<ProducerData>>): Promise<types.Producer<ProducerData>> {
    const held = [...this.producers.values()].filter((p) => p.appData.source === source).length;
    if (held + (this.pendingSources.has(source) ? 1 : 0) >= MAX_PRODUCERS_PER_SOURCE) {
      throw new ParleyError('LIMIT', `a peer publishes at most ${MAX_PRODUCERS_PER_SOURCE} ${source}; close it first`);
    }
    this.pendingSources.add(source);
    try {
      const producer = await create();
      this.producers.set(producer.id, producer);
      return producer;
    } finally {
      this.pendingSources.delete(source);
    }
  }

  /** Closing transports closes their producers and consumers too. */
  close(): void {
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
  }
}

function found<T>(value: T | undefined, what: string, id: string): T {
  if (value === undefined) throw new ParleyError('NOT_FOUND', `unknown ${what} ${id}`);
  return value;
}

/** A producer as the room is told of it. */
export function producerInfo(producer: types.Producer<ProducerData>): ProducerInfo {
  return {
    id: producer.id,
    peerId: producer.appData.peerId,
    kind: producer.kind,
    source: producer.appData.source,
    paused: producer.paused,
  };
}
