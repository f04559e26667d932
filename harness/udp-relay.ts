import dgram from 'node:dgram';

export interface UdpRelay {
  /** Where clients send: 127.0.0.1 and this port. */
  readonly port: number;
  /** Where the relay forwards to; set before the first packet (a test learns it from the server). */
  target?: { host: string; port: number };
  /**
   * Limits what clients send towards the target to `bitsPerSecond` (undefined lifts it): a bottleneck with a
   * queue of `queueMs` at that rate, tail drop beyond it, as a congested uplink behaves.
   */
  limit(bitsPerSecond: number | undefined, queueMs?: number): void;
  /** Drops everything in both directions while on: a cut cable. */
  blackhole(on: boolean): void;
  readonly counts: { forwarded: number; dropped: number; bytesUp: number };
  stop(): Promise<void>;
}

const DRAIN_MS = 5;

/**
 * A userspace UDP relay between WebRTC clients and a media server, whose uplink a test can throttle or cut
 * (the kernel here has no netem). One upstream socket per client address, so the server sees each client as
 * its own peer; ICE-lite servers (mediasoup) accept the relay's address as the client's.
 */
export async function startUdpRelay(host = '127.0.0.1'): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  const queue: { packet: Buffer; upstream: dgram.Socket }[] = [];
  let queueBytes = 0;
  let rate: number | undefined;
  let maxQueueBytes = 0;
  let tokens = 0;
  let lastDrain = performance.now();
  let cut = false;
  const counts = { forwarded: 0, dropped: 0, bytesUp: 0 };

  const relay: UdpRelay = {
    port: 0,
    counts,
    limit(bitsPerSecond, queueMs = 200) {
      rate = bitsPerSecond === undefined ? undefined : bitsPerSecond / 8;
      maxQueueBytes = rate === undefined ? 0 : (rate * queueMs) / 1000;
      tokens = 0;
      if (rate === undefined) while (queue.length > 0) send(queue.shift()!);
      queueBytes = 0;
    },
    blackhole(on) {
      cut = on;
    },
    stop: () =>
      new Promise((resolve) => {
        clearInterval(drainer);
        for (const socket of upstreams.values()) socket.close();
        front.close(() => resolve());
      }),
  };

  const send = ({ packet, upstream }: { packet: Buffer; upstream: dgram.Socket }) => {
    const target = relay.target;
    if (!target) return;
    counts.forwarded++;
    counts.bytesUp += packet.length;
    upstream.send(packet, target.port, target.host);
  };

  const upstreamFor = (address: string, port: number): dgram.Socket => {
    const key = `${address}:${port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      upstream = dgram.createSocket('udp4');
      upstream.on('message', (packet) => {
        if (!cut) front.send(packet, port, address);
      });
      upstream.on('error', () => undefined);
      upstream.bind(0, host);
      upstreams.set(key, upstream);
    }
    return upstream;
  };

  front.on('message', (packet, from) => {
    if (cut) {
      counts.dropped++;
      return;
    }
    const item = { packet, upstream: upstreamFor(from.address, from.port) };
    if (rate === undefined) return send(item);
    if (queueBytes + packet.length > maxQueueBytes) {
      counts.dropped++;
      return;
    }
    queue.push(item);
    queueBytes += packet.length;
  });
  front.on('error', () => undefined);

  // The bottleneck: bytes leave at the limited rate; a short burst allowance keeps timer jitter from starving it.
  const drainer = setInterval(() => {
    const now = performance.now();
    const elapsed = now - lastDrain;
    lastDrain = now;
    if (rate === undefined) return;
    tokens = Math.min(tokens + (rate * elapsed) / 1000, rate * 0.02 + 1500);
    while (queue.length > 0 && queue[0]!.packet.length <= tokens) {
      const item = queue.shift()!;
      tokens -= item.packet.length;
      queueBytes -= item.packet.length;
      send(item);
    }
  }, DRAIN_MS);

  await new Promise<void>((resolve) => front.bind(0, host, resolve));
  Object.assign(relay, { port: front.address().port });
  return relay;
}
