import dgram from 'node:dgram';
import net from 'node:net';

/** One region's end of the link: the address other regions reach its media host and NATS gateway on. */
export interface LinkFace {
  /** A loopback address of its own (127.0.0.2, …): what the region's media-worker announces for its pipes. */
  address: string;
  /** The region's pipe port range (MEDIA_RTC_MIN_PORT..MEDIA_RTC_MAX_PORT): each port is mirrored on `address`. */
  ports: { min: number; max: number };
  /** The region's NATS gateway port on 127.0.0.1; other regions dial `address` and this port instead. */
  gatewayPort: number;
  /** The region's signaling port on 127.0.0.1, mirrored the same way: a client far from the region dials `address`. */
  signalingPort?: number;
}

export interface RegionLink {
  /** One-way delay added to every packet and every TCP chunk, in both directions. */
  delayMs: number;
  /** Cuts the link (TCP connections reset and refused, UDP dropped) until `restore()`. */
  cut(): void;
  restore(): void;
  /**
   * The pipes that carried RTP from `from` to `to` (a face's address each), as `port>port`: one per
   * PipeTransport, so one per producer piped (a second pipe of the same producer has the same SSRCs). With
   * `withinMs`, only those that carried some in the last `withinMs`: a closed pipe's ports can be a new one's.
   */
  flows(from: string, to: string, withinMs?: number): Set<string>;
  stop(): Promise<void>;
}

/**
 * The network between regions, in userspace (the kernel here has no netem): every face mirrors its region's
 * pipe ports and gateway port on an address of its own, and what arrives there goes on, `delayMs` later, to the
 * region behind it from the sender's own face, so mediasoup's PipeTransports see the address they connected to.
 * A packet from port s to face X port p leaves face Y (the one whose range holds s) port s for 127.0.0.1:p.
 */
export async function startRegionLink(faces: LinkFace[], delayMs = 0): Promise<RegionLink> {
  let up = true;
  const sockets = new Map<string, dgram.Socket>();
  const open = new Set<net.Socket>();
  const servers: net.Server[] = [];
  /** Per direction, when each pipe (port pair) last carried RTP. */
  const crossed = new Map<string, Map<string, number>>();
  const link: RegionLink = {
    delayMs,
    cut() {
      up = false;
      for (const s of open) s.resetAndDestroy();
    },
    restore() {
      up = true;
    },
    flows: (from, to, withinMs = Number.POSITIVE_INFINITY) =>
      new Set([...(crossed.get(`${from}>${to}`) ?? [])].filter(([, at]) => Date.now() - at <= withinMs).map(([pair]) => pair)),
    async stop() {
      for (const s of open) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      for (const s of sockets.values()) s.close();
    },
  };
  const later = (fn: () => void) => (link.delayMs > 0 ? setTimeout(fn, link.delayMs) : setImmediate(fn));
  const faceOf = (port: number) => faces.find((f) => port >= f.ports.min && port <= f.ports.max);

  const onPacket = (to: LinkFace, port: number) => (packet: Buffer, from: dgram.RemoteInfo) => {
    const sender = faceOf(from.port);
    if (!up || !sender || sender === to) return;
    const isRtp = packet.length >= 12 && (packet[1]! < 192 || packet[1]! > 223);
    if (isRtp) {
      const key = `${sender.address}>${to.address}`;
      if (!crossed.has(key)) crossed.set(key, new Map());
      crossed.get(key)!.set(`${from.port}>${port}`, Date.now());
    }
    later(() => up && sockets.get(`${sender.address}:${from.port}`)?.send(packet, port, '127.0.0.1'));
  };
  for (const face of faces) {
    for (let port = face.ports.min; port <= face.ports.max; port++) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', onPacket(face, port));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.bind(port, face.address, resolve));
      sockets.set(`${face.address}:${port}`, socket);
    }
    for (const port of [face.gatewayPort, face.signalingPort ?? []].flat()) {
      servers.push(await tcpForwarder(face.address, port, open, () => up, later));
    }
  }
  return link;
}

/** `address:port` → 127.0.0.1:port, each chunk `later`, while the link is up. */
async function tcpForwarder(
  address: string,
  port: number,
  open: Set<net.Socket>,
  isUp: () => boolean,
  later: (fn: () => void) => void,
): Promise<net.Server> {
  const server = net.createServer((client) => {
    if (!isUp()) return client.resetAndDestroy();
    const upstream = net.connect(port, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.on('data', (chunk) => later(() => isUp() && !to.destroyed && to.write(chunk)));
      from.on('error', () => undefined);
      from.on('close', () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return server;
}
