import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRegionLink } from '../../harness/region-link.ts';
import type { LinkFace, RegionLink } from '../../harness/region-link.ts';

const base = 30_000 + Math.floor(Math.random() * 20_000);
const faceA: LinkFace = { address: '127.0.0.2', ports: { min: base, max: base + 2 }, gatewayPort: base + 10 };
const faceB: LinkFace = { address: '127.0.0.3', ports: { min: base + 3, max: base + 5 }, gatewayPort: base + 11 };

/** An RTP packet of `ssrc` (version 2, payload type 96). */
const rtp = (ssrc: number) => {
  const packet = Buffer.alloc(20);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt32BE(ssrc, 8);
  return packet;
};

const udpHost = async (port: number) => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  const received: { at: number; from: string }[] = [];
  socket.on('message', (_p, from) => received.push({ at: performance.now(), from: `${from.address}:${from.port}` }));
  return { socket, received };
};

describe('the link between regions (test harness)', () => {
  let link: RegionLink | undefined;
  const closing: (() => void)[] = [];
  afterEach(async () => {
    closing.splice(0).forEach((close) => close());
    await link?.stop();
  });

  it('carries pipe packets from the sender’s own face, later by the delay, counts pipes, and drops all while cut', async () => {
    link = await startRegionLink([faceA, faceB], 40);
    const [a, b] = [await udpHost(faceA.ports.min), await udpHost(faceB.ports.min)];
    closing.push(
      () => a.socket.close(),
      () => b.socket.close(),
    );
    const sentAt = performance.now();
    for (const ssrc of [1, 2, 2, 3]) a.socket.send(rtp(ssrc), faceB.ports.min, faceB.address);
    a.socket.send(Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 9]), faceB.ports.min, faceB.address); // RTCP: not a stream
    await new Promise((r) => setTimeout(r, 150));
    expect(b.received.map((r) => r.from)).toEqual(Array(5).fill(`${faceA.address}:${faceA.ports.min}`));
    expect(b.received[0]!.at - sentAt).toBeGreaterThanOrEqual(39);
    expect([...link.flows(faceA.address, faceB.address)]).toEqual([`${faceA.ports.min}>${faceB.ports.min}`]);

    link.cut();
    a.socket.send(rtp(4), faceB.ports.min, faceB.address);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.received).toHaveLength(5);
    link.restore();
    a.socket.send(rtp(4), faceB.ports.min, faceB.address);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.received).toHaveLength(6);
  });

  it('forwards a gateway’s TCP connection with the delay, and resets it when cut', async () => {
    link = await startRegionLink([faceA, faceB], 30);
    const gateway = net.createServer((s) => s.on('error', () => undefined).pipe(s));
    await new Promise<void>((resolve) => gateway.listen(faceB.gatewayPort, '127.0.0.1', resolve));
    closing.push(() => gateway.close());
    const client = net.connect(faceB.gatewayPort, faceB.address);
    const started = performance.now();
    const echoed = new Promise<number>((resolve) => client.once('data', () => resolve(performance.now() - started)));
    client.write('ping');
    expect(await echoed).toBeGreaterThanOrEqual(59);
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.on('error', () => undefined);
    link.cut();
    await closed;
  });
});
