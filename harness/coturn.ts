import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './processes.ts';
import type { Running } from './processes.ts';

export interface Coturn {
  /** The port TURN listens on, UDP and TCP alike. */
  port: number;
  /** `turn:127.0.0.1:<port>?transport=<transport>`. */
  url(transport: 'udp' | 'tcp'): string;
  /** The server's log so far (sessions, allocations, refusals). */
  output(): string;
  stop(): Promise<void>;
}

/** The last line coturn prints once its listeners and relay threads are set up. */
const STARTED = /SQLite DB connection success/;
/** Below the kernel's ephemeral range (32768+), so no outgoing connection takes the port meanwhile. */
const PORT_RANGE = { from: 20_000, to: 32_000 };
const ATTEMPTS = 5;

/**
 * Debian's coturn on loopback with the TURN REST shared secret, as a deployment runs it (`use-auth-secret`),
 * plus `allow-loopback-peers` since the media-workers announce 127.0.0.1. coturn cannot bind port 0 and say
 * which port it got (it binds each thread's socket separately), so a port is picked at random and kept only
 * when `ss` shows this very process listening on it over UDP and TCP; else another is tried.
 */
export async function startCoturn(secret: string): Promise<Coturn> {
  for (let attempt = 1; ; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from - 400));
    const running = await launch(secret, port);
    if (owns(running, port)) {
      return {
        port,
        url: (transport) => `turn:127.0.0.1:${port}?transport=${transport}`,
        output: () => running.output(),
        stop: () => running.stop(),
      };
    }
    await running.stop();
    if (attempt === ATTEMPTS) throw new Error(`coturn could not bind a port in ${ATTEMPTS} attempts:\n${running.output()}`);
  }
}

async function launch(secret: string, port: number): Promise<Running> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-'));
  const args = [
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    // Relay ports next to the listener; coturn skips ones taken.
    `--min-port=${port + 1}`,
    `--max-port=${port + 400}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=parley.test',
    '--no-tls',
    '--no-dtls',
    '--allow-loopback-peers',
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`,
  ];
  const running = await startProcess('turnserver', ['-n', ...args], { name: 'coturn', ready: STARTED });
  const stop = running.stop;
  running.stop = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return running;
}

/** Whether this coturn process (not another one) listens on `port` over both UDP and TCP. */
function owns(running: Running, port: number): boolean {
  if (/Cannot bind/.test(running.output())) return false;
  const listening = execFileSync('ss', ['-Hlntup', `sport = :${port}`], { encoding: 'utf8' });
  const mine = listening.split('\n').filter((line) => line.includes(`pid=${running.child.pid},`));
  return mine.some((l) => l.startsWith('udp')) && mine.some((l) => l.startsWith('tcp'));
}

/** What a TURN server answered an Allocate over UDP with long-term credentials: 'ok' or the STUN error code. */
export interface AllocateResult {
  answer: 'ok' | number;
  /** From the authenticated request to its answer. */
  ms: number;
}

const STUN_COOKIE = 0x2112a442;
const ATTR = { username: 0x0006, integrity: 0x0008, error: 0x0009, realm: 0x0014, nonce: 0x0015, transport: 0x0019 };

/**
 * One TURN Allocate over UDP as a browser sends it (RFC 5766: the unauthenticated request, the server's 401 with
 * realm and nonce, the request again with MESSAGE-INTEGRITY), so a refusal is seen as the code coturn sends. The
 * allocation is left to expire (no Refresh).
 */
export async function turnAllocate(host: string, port: number, username: string, password: string): Promise<AllocateResult> {
  const socket = dgram.createSocket('udp4');
  try {
    const challenge = await stunRequest(socket, host, port, allocate([]));
    const realm = challenge.attributes.get(ATTR.realm);
    const nonce = challenge.attributes.get(ATTR.nonce);
    if (challenge.error !== 401 || !realm || !nonce) throw new Error(`no 401 challenge from ${host}:${port}`);
    const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
    const started = Date.now();
    const answer = await stunRequest(
      socket,
      host,
      port,
      allocate(
        [
          [ATTR.username, Buffer.from(username)],
          [ATTR.realm, realm],
          [ATTR.nonce, nonce],
        ],
        key,
      ),
    );
    return { answer: answer.error ?? 'ok', ms: Date.now() - started };
  } finally {
    socket.close();
  }
}

function allocate(attributes: [number, Buffer][], integrityKey?: Buffer): Buffer {
  const body = [[ATTR.transport, Buffer.from([17, 0, 0, 0])] as [number, Buffer], ...attributes].map(([type, value]) => {
    const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
    padded.writeUInt16BE(type, 0);
    padded.writeUInt16BE(value.length, 2);
    value.copy(padded, 4);
    return padded;
  });
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0003, 0);
  header.writeUInt32BE(STUN_COOKIE, 4);
  randomBytes(12).copy(header, 8);
  const unsigned = Buffer.concat([header, ...body]);
  if (!integrityKey) {
    unsigned.writeUInt16BE(unsigned.length - 20, 2);
    return unsigned;
  }
  // The length covers MESSAGE-INTEGRITY itself (24 bytes) when its HMAC is computed.
  unsigned.writeUInt16BE(unsigned.length - 20 + 24, 2);
  const mac = createHmac('sha1', integrityKey).update(unsigned).digest();
  const integrity = Buffer.alloc(4);
  integrity.writeUInt16BE(ATTR.integrity, 0);
  integrity.writeUInt16BE(20, 2);
  return Buffer.concat([unsigned, integrity, mac]);
}

interface StunAnswer {
  error?: number;
  attributes: Map<number, Buffer>;
}

function stunRequest(socket: dgram.Socket, host: string, port: number, request: Buffer, timeoutMs = 5000): Promise<StunAnswer> {
  const id = request.subarray(8, 20);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no STUN answer from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg: Buffer) => {
      if (msg.length < 20 || !msg.subarray(8, 20).equals(id)) return;
      const attributes = new Map<number, Buffer>();
      for (let at = 20; at + 4 <= msg.length; ) {
        const type = msg.readUInt16BE(at);
        const length = msg.readUInt16BE(at + 2);
        attributes.set(type, msg.subarray(at + 4, at + 4 + length));
        at += 4 + Math.ceil(length / 4) * 4;
      }
      const code = attributes.get(ATTR.error);
      // Class 0x0110 bits set: an error response; its code is class * 100 + number.
      const isError = (msg.readUInt16BE(0) & 0x0110) === 0x0110;
      done(undefined, { error: isError && code ? (code[2]! & 7) * 100 + code[3]! : undefined, attributes });
    };
    const done = (err?: Error, answer?: StunAnswer) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      if (err) reject(err);
      else resolve(answer!);
    };
    socket.on('message', onMessage);
    socket.send(request, port, host);
  });
}

/** A UDP echo server standing in for a media-worker's port: it counts what reaches it through the relay. */
export async function udpEcho(host: string): Promise<{ port: number; received: () => number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', (msg, from) => {
    received++;
    socket.send(msg, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { port: socket.address().port, received: () => received, close: () => socket.close() };
}

/** What coturn's own client (turnutils_uclient) saw relaying `messages` to a peer: sent, echoed back, refused. */
export interface RelayResult {
  sent: number;
  received: number;
  forbidden: boolean;
  output: string;
}

/**
 * The arguments of turnutils_uclient for one relayed exchange over UDP (or `tcp` to the server), and how to read
 * its output; the caller runs it where the client should be (a container on the server's network).
 */
export function uclientArgs(options: {
  server: string;
  port?: number;
  username: string;
  password: string;
  peer: string;
  peerPort: number;
  messages?: number;
  tcp?: boolean;
}): string[] {
  return [
    ...(options.tcp ? ['-t'] : []),
    ...['-u', options.username, '-w', options.password, '-e', options.peer, '-r', String(options.peerPort)],
    ...['-n', String(options.messages ?? 5), '-c', '-p', String(options.port ?? 3478), options.server],
  ];
}

export function readUclient(output: string): RelayResult {
  const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
  return {
    sent: Number(totals?.[1] ?? 0),
    received: Number(totals?.[2] ?? 0),
    forbidden: /error 403 \(Forbidden IP\)/.test(output),
    output,
  };
}
