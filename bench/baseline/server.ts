import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { mediaCodecs } from '../../media-worker/config.ts';
import { resolveWorkerBin } from '../../media-worker/sfu/worker-bin.ts';

/**
 * The bare baseline: one mediasoup worker and router, a WebSocket server and nothing else (no NATS, auth,
 * presence, rate limits, validation or leases). It speaks the subset of Parley's client protocol a
 * participant needs, so the same bots and the same bench page measure both and only the server differs.
 * It does what Parley's media plane does per request (WebRtcServer, consumers created paused, resume with
 * a key-frame request) so the comparison is of overhead, not of behaviour.
 * `npx tsx bench/baseline/server.ts [port] [--pipe]` prints `baseline listening on <port>`; it also serves the bench
 * page.
 */
const here = path.dirname(fileURLToPath(import.meta.url));

interface Peer {
  id: string;
  ws: WebSocket;
  side: Side;
  transports: Map<string, types.WebRtcTransport | types.PlainTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
}

/** A worker with its WebRtcServer and the room's router on it. */
interface Side {
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  router: types.Router;
}

async function startSide(): Promise<Side> {
  const worker = await mediasoup.createWorker({ workerBin: resolveWorkerBin(), logLevel: 'warn' });
  const webRtcServer = await worker.createWebRtcServer({
    listenInfos: [
      { protocol: 'udp', ip: '127.0.0.1' },
      { protocol: 'tcp', ip: '127.0.0.1' },
    ],
  });
  return { worker, webRtcServer, router: await worker.createRouter({ mediaCodecs }) };
}

// With --pipe, a second worker: peers joining with `region: "b"` are on it, and what they consume of the first
// worker's producers crosses by pipeToRouter, once per producer (as a room spanning two workers does).
const a = await startSide();
const b = process.argv.includes('--pipe') ? await startSide() : a;
const piped = new Map<string, Promise<unknown>>();
const peers = new Map<string, Peer>();
let nextPeer = 1;

type Handler = (peer: Peer, data: Record<string, unknown>) => Promise<unknown>;
const handlers: Record<string, Handler> = {
  async join(peer, data) {
    if (data.region === 'b') peer.side = b;
    peers.set(peer.id, peer);
    const others = [...peers.values()].filter((p) => p !== peer);
    return {
      peerId: peer.id,
      resumeToken: 'baseline-has-no-resume',
      routerRtpCapabilities: peer.side.router.rtpCapabilities,
      peers: others.map((p) => ({ id: p.id, displayName: p.id })),
      producers: others.flatMap((p) => [...p.producers.values()].map(info)),
      activeSpeaker: null,
    };
  },
  async createTransport(peer) {
    const t = await peer.side.router.createWebRtcTransport({
      webRtcServer: peer.side.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    peer.transports.set(t.id, t);
    return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
  },
  /** The RTP load tester's transport, as Parley's media-worker creates it (comedia, rtcp-mux, no SRTP). */
  async createPlainTransport(peer) {
    const t = await peer.side.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      comedia: true,
      rtcpMux: true,
    });
    peer.transports.set(t.id, t);
    return { id: t.id, ip: t.tuple.localAddress ?? t.tuple.localIp, port: t.tuple.localPort };
  },
  async connectTransport(peer, data) {
    const t = transportOf(peer, data);
    if (t.type !== 'webrtc') throw new Error('not a WebRTC transport');
    await t.connect({ dtlsParameters: data.dtlsParameters as types.DtlsParameters });
    return {};
  },
  async produce(peer, data) {
    const producer = await transportOf(peer, data).produce({
      kind: data.kind as types.MediaKind,
      rtpParameters: data.rtpParameters as types.RtpParameters,
      appData: { peerId: peer.id, source: data.source },
    });
    peer.producers.set(producer.id, producer);
    for (const other of peers.values()) if (other !== peer) notify(other, 'newProducer', { producer: info(producer) });
    return { producerId: producer.id };
  },
  async consume(peer, data) {
    const producerId = String(data.producerId);
    const rtpCapabilities = data.rtpCapabilities as types.RtpCapabilities;
    if (peer.side !== a && !piped.has(producerId)) piped.set(producerId, a.router.pipeToRouter({ producerId, router: b.router }));
    await piped.get(producerId);
    const consumer = await transportOf(peer, data).consume({ producerId, rtpCapabilities, paused: true });
    peer.consumers.set(consumer.id, consumer);
    const appData = producerAppData(producerId);
    return {
      id: consumer.id,
      producerId,
      peerId: appData.peerId,
      kind: consumer.kind,
      source: appData.source,
      rtpParameters: consumer.rtpParameters,
    };
  },
  async resumeConsumer(peer, data) {
    const consumer = peer.consumers.get(String(data.consumerId));
    if (!consumer) throw new Error('no such consumer');
    await consumer.resume();
    if (consumer.kind === 'video') await consumer.requestKeyFrame();
    return {};
  },
  async setConsumerPreferredLayers(peer, data) {
    const consumer = peer.consumers.get(String(data.consumerId));
    if (!consumer) throw new Error('no such consumer');
    await consumer.setPreferredLayers({ spatialLayer: Number(data.spatialLayer) });
    return {};
  },
  async leave(peer) {
    close(peer);
    return {};
  },
};

function transportOf(peer: Peer, data: Record<string, unknown>): types.WebRtcTransport | types.PlainTransport {
  const t = peer.transports.get(String(data.transportId));
  if (!t) throw new Error('no such transport');
  return t;
}

function info(p: types.Producer) {
  const appData = p.appData as { peerId: string; source: string };
  return { id: p.id, peerId: appData.peerId, kind: p.kind, source: appData.source, paused: p.paused };
}

function producerAppData(producerId: string): { peerId: string; source: string } {
  for (const p of peers.values()) {
    const producer = p.producers.get(producerId);
    if (producer) return producer.appData as { peerId: string; source: string };
  }
  throw new Error('no such producer');
}

function notify(peer: Peer, notification: string, data: unknown): void {
  peer.ws.send(JSON.stringify({ notification, data }));
}

function close(peer: Peer): void {
  if (!peers.delete(peer.id)) return;
  // Closing transports closes their producers and consumers; others' consumers go with the producers.
  peer.transports.forEach((t) => t.close());
  for (const other of peers.values())
    for (const id of peer.producers.keys()) notify(other, 'producerClosed', { producerId: id, peerId: peer.id });
}

// The bench page: index.html and the client bundle built by bench/lib/page.ts.
const server = http.createServer((req, res) => {
  const file = req.url === '/client.js' ? 'dist/client.js' : 'page.html';
  fs.readFile(path.join(here, file), (err, body) => {
    if (err) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body);
  });
});
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => {
  const peer: Peer = { id: `p${nextPeer++}`, ws, side: a, transports: new Map(), producers: new Map(), consumers: new Map() };
  ws.on('message', async (raw) => {
    const { id, method, data } = JSON.parse(String(raw)) as { id: number; method: string; data?: Record<string, unknown> };
    try {
      const handler = handlers[method];
      if (!handler) throw new Error(`unknown method ${method}`);
      ws.send(JSON.stringify({ id, ok: true, data: await handler(peer, data ?? {}) }));
    } catch (err) {
      ws.send(JSON.stringify({ id, ok: false, error: { code: 'INTERNAL', message: (err as Error).message } }));
    }
  });
  ws.on('close', () => close(peer));
});
server.listen(Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`baseline listening on ${port} (worker pids a=${a.worker.pid} b=${b.worker.pid})`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
