import fc from 'fast-check';
import WebSocket from 'ws';
import type { NatsBus } from '../bus/nats.ts';
import { unwrapReply } from '../bus/reply.ts';
import { clientMethods, ClientResponse, ServerMessage } from '../protocol/client.ts';
import { ErrorCode, ParleyError } from '../protocol/errors.ts';
import { MAX_CLIENT_MESSAGE_BYTES } from '../protocol/limits.ts';
import { mediaCommands } from '../protocol/media.ts';
import type { MediaCommand } from '../protocol/media.ts';
import { subjects } from '../protocol/subjects.ts';

/**
 * Generators and drivers for fuzzing the two external surfaces: the client WebSocket protocol and the NATS
 * media command API. Shared by test/integration/fuzz.test.ts (bounded) and scripts/fuzz.ts (≥ 100,000).
 */

/** Real ids the mutations may borrow: another peer's producer/consumer/transport, other rooms. */
export interface FuzzIds {
  rooms: string[];
  peers: string[];
  producers: string[];
  consumers: string[];
  transports: string[];
}

const weirdNumber = fc.constantFrom(
  0,
  -1,
  -0,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
  255,
  256,
  65535,
  65536,
);
const weirdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\uFEFF',
    '\uD800',
    'ﷺ'.repeat(30),
    '..',
    '*',
    '>',
    'a.b',
    '__proto__',
    'constructor',
    'x'.repeat(65),
    'x'.repeat(5000),
  ),
);
/**
 * Deep nesting is built as text (a JS value that deep would overflow the fuzzer's own stack when fast-check
 * prints it): arrays or objects nested up to what fits the 64 KiB message limit, inside an otherwise valid body.
 */
const deepText = fc
  .tuple(fc.integer({ min: 100, max: 30_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? '['.repeat(depth) + ']'.repeat(depth)
      : `${'{"a":'.repeat(Math.floor(depth / 3))}1${'}'.repeat(Math.floor(depth / 3))}`,
  );
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: weirdNumber },
  { weight: 3, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
);

const pick = <T>(values: T[], fallback: T) => (values.length ? fc.constantFrom(...values) : fc.constant(fallback));

/** A valid-looking request body per client method, with real ids from `ids` where it takes one. */
function clientSample(method: string, ids: FuzzIds): fc.Arbitrary<Record<string, unknown>> {
  const id = (list: string[]) => fc.oneof(pick(list, 'x'), fc.uuid(), weirdString);
  const rtp = fc.constantFrom(
    { codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: 101 }], encodings: [{ ssrc: 1234 }] },
    { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }] },
    { codecs: [] },
  );
  const dtls = fc.constant({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] });
  switch (method) {
    case 'join':
      return fc.record({ room: fc.oneof(pick(ids.rooms, 'r'), weirdString) });
    case 'resume':
      return fc.record({ resumeToken: fc.string({ minLength: 16, maxLength: 128 }) });
    case 'createTransport':
      return fc.record({ direction: fc.constantFrom('send', 'recv', 'both') });
    case 'connectTransport':
      return fc.record({ transportId: id(ids.transports), dtlsParameters: dtls });
    case 'restartIce':
      return fc.record({ transportId: id(ids.transports) });
    case 'produce':
      return fc.record({
        transportId: id(ids.transports),
        kind: fc.constantFrom('audio', 'video', 'data'),
        source: fc.constantFrom('microphone', 'camera', 'screen', 'screen-audio', 'tv'),
        rtpParameters: rtp,
      });
    case 'pauseProducer':
    case 'resumeProducer':
    case 'closeProducer':
      return fc.record({ producerId: id(ids.producers) });
    case 'consume':
      return fc.record({
        transportId: id(ids.transports),
        producerId: id(ids.producers),
        rtpCapabilities: fc.constant({ codecs: [] }),
      });
    case 'setConsumerPreferredLayers':
      return fc.record({
        consumerId: id(ids.consumers),
        spatialLayer: fc.integer({ min: -1, max: 4 }),
        temporalLayer: fc.integer({ min: -1, max: 4 }),
      });
    case 'setConsumerPriority':
      return fc.record({ consumerId: id(ids.consumers), priority: fc.integer({ min: 0, max: 256 }) });
    case 'resumeConsumer':
    case 'pauseConsumer':
    case 'requestKeyFrame':
      return fc.record({ consumerId: id(ids.consumers) });
    default:
      return fc.constant({});
  }
}

/** Replaces, deletes or adds one field, or swaps the whole body for something else. */
function mutate(body: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc
    .tuple(body, fc.nat(), weirdValue, fc.constantFrom('keep', 'replace', 'delete', 'add', 'whole', 'nestedReplace'))
    .map(([data, n, value, how]) => {
      const keys = Object.keys(data);
      const key = keys[n % Math.max(1, keys.length)] ?? 'x';
      const copy: Record<string, unknown> = { ...data };
      switch (how) {
        case 'keep':
          return copy;
        case 'replace':
          copy[key] = value;
          return copy;
        case 'delete':
          delete copy[key];
          return copy;
        case 'add':
          copy[`extra${n % 7}`] = value;
          return copy;
        case 'nestedReplace': {
          const inner = copy[key];
          if (inner && typeof inner === 'object' && !Array.isArray(inner))
            copy[key] = { ...inner, [Object.keys(inner)[0] ?? 'x']: value };
          else copy[key] = value;
          return copy;
        }
        default:
          return value;
      }
    });
}

const methodNames = Object.keys(clientMethods);

/**
 * One WebSocket text frame: mostly valid envelopes with mutated data, then broken envelopes and raw junk, all
 * within the message size limit (a larger frame closes the socket with 1009 by design: admission.test.ts).
 */
export function wsFrame(ids: FuzzIds): fc.Arbitrary<string> {
  return anyFrame(ids).filter((frame) => utf8.encode(frame).length <= MAX_CLIENT_MESSAGE_BYTES);
}

const utf8 = new TextEncoder();

function anyFrame(ids: FuzzIds): fc.Arbitrary<string> {
  const envelope = fc
    .constantFrom(...methodNames)
    .chain((method) =>
      fc.record({ id: fc.nat({ max: 2 ** 31 }), method: fc.constant(method), data: mutate(clientSample(method, ids)) }),
    );
  const brokenEnvelope = fc.record(
    {
      id: fc.oneof(fc.nat(), weirdValue),
      method: fc.oneof(fc.constantFrom(...methodNames), weirdValue),
      data: weirdValue,
      traceparent: fc.oneof(fc.string({ maxLength: 200 }), weirdValue),
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 12, arbitrary: envelope.map((e) => JSON.stringify(e)) },
    { weight: 3, arbitrary: brokenEnvelope.map((e) => JSON.stringify(e)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: envelope.chain((e) => fc.nat({ max: 200 }).map((cut) => JSON.stringify(e).slice(0, Math.max(1, cut)))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...methodNames), deepText)
        .map(
          ([method, nested]) =>
            `{"id":7,"method":"${method}","data":{"transportId":"t","producerId":"p","consumerId":"c","room":"r","rtpCapabilities":{"x":${nested}},"extra":${nested}}}`,
        ),
    },
    { weight: 1, arbitrary: deepText.map((nested) => `{"id":8,"method":"join","data":${nested}}`) },
    // Large frames just under the limit (over it, the socket is closed with 1009: admission.test.ts).
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: MAX_CLIENT_MESSAGE_BYTES - 64 })
        .map((n) => `{"id":1,"method":"join","data":{"room":"${'r'.repeat(n)}"}}`),
    },
  );
}

export interface FuzzTally {
  sent: number;
  replies: number;
  codes: Record<string, number>;
  /** Anything that broke an invariant: a reply off-schema, a missing reply, a closed socket. */
  violations: string[];
}

export function newTally(): FuzzTally {
  return { sent: 0, replies: 0, codes: {}, violations: [] };
}

/**
 * A fuzzing connection: sends frames in batches, expects exactly one schema-valid response per frame (ok, or
 * a typed error code), and checks every notification against the protocol too.
 */
export class FuzzSocket {
  private pending = 0;
  private wake?: () => void;
  closed?: string;

  private constructor(
    private ws: WebSocket,
    private tally: FuzzTally,
  ) {
    ws.on('message', (raw) => {
      let message: unknown;
      try {
        message = JSON.parse(String(raw));
      } catch {
        tally.violations.push(`server sent non-JSON: ${String(raw).slice(0, 100)}`);
        return;
      }
      const parsed = ServerMessage.safeParse(message);
      if (!parsed.success) {
        tally.violations.push(`off-schema server message: ${String(raw).slice(0, 200)}`);
        return;
      }
      if ('notification' in parsed.data) return;
      const response = ClientResponse.parse(parsed.data);
      const code = response.ok ? 'OK' : response.error.code;
      tally.codes[code] = (tally.codes[code] ?? 0) + 1;
      if (!response.ok && !ErrorCode.safeParse(response.error.code).success)
        tally.violations.push(`untyped error ${JSON.stringify(response)}`);
      tally.replies++;
      this.pending--;
      if (this.pending <= 0) this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = `${code} ${reason.toString()}`;
      this.wake?.();
    });
  }

  static open(url: string, tally: FuzzTally): Promise<FuzzSocket> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FuzzSocket(ws, tally)));
      ws.once('error', reject);
    });
  }

  /** Sends the frames and waits (bounded) until each has its response. */
  async send(frames: string[], timeoutMs = 15_000): Promise<void> {
    if (this.closed) throw new Error(`socket closed: ${this.closed}`);
    this.pending += frames.length;
    for (const f of frames) this.ws.send(f);
    this.tally.sent += frames.length;
    const done = new Promise<void>((resolve) => {
      this.wake = resolve;
      if (this.pending <= 0) resolve();
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([done, late]);
    clearTimeout(timer);
    if (this.closed) this.tally.violations.push(`server closed the fuzzing socket: ${this.closed}`);
    else if (this.pending > 0) {
      this.tally.violations.push(`${this.pending} of ${frames.length} frames got no response within ${timeoutMs} ms`);
      this.pending = 0;
    }
  }

  close(): void {
    this.ws.close();
  }
}

const commandNames = Object.keys(mediaCommands) as MediaCommand[];

/** A media command on NATS: its subject (real or made-up command) and a payload (JSON value or raw bytes). */
export interface NatsFuzzMessage {
  command: string;
  data: unknown;
  raw?: string;
}

/**
 * Media commands for `fuzzRooms` (rooms the fuzzer may wreck) with mutated bodies; the victim room appears only
 * with made-up peer ids, since the bus is trusted: a well-formed `leave` for a real peer would rightly obey.
 */
export function natsMessage(ids: FuzzIds, fuzzRooms: string[]): fc.Arbitrary<NatsFuzzMessage> {
  const room = fc.oneof(fc.constantFrom(...fuzzRooms), pick(ids.rooms, 'r'), weirdString);
  const peer = fc.oneof(fc.constantFrom('fuzz-peer-1', 'fuzz-peer-2'), fc.uuid(), weirdString);
  const command = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...commandNames) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/) },
  );
  const body = command.chain((c) => {
    const base = clientSample(c, { ...ids, peers: [] });
    const extra = fc.record({ roomId: room, peerId: peer, displayName: fc.oneof(fc.constant('Fuzz'), weirdString) });
    const request: fc.Arbitrary<Record<string, unknown>> =
      c === 'renewLeases'
        ? fc.record({ peers: fc.array(fc.record({ roomId: room, peerId: peer }), { maxLength: 5 }) })
        : c === 'pipeProducer'
          ? fc.record({
              roomId: room,
              producerId: fc.uuid(),
              ip: fc.constantFrom('127.0.0.1', '::1', 'not-an-ip', '0.0.0.0'),
              port: fc.integer({ min: -1, max: 70_000 }),
            })
          : fc.tuple(base, extra).map(([b, e]) => ({ ...b, ...e }));
    return mutate(request).map((data) => ({ command: c, data }));
  });
  const raw = fc
    .tuple(fc.constantFrom(...commandNames), fc.string({ unit: 'binary', maxLength: 300 }))
    .map(([c, text]) => ({ command: c, data: null, raw: text }));
  const deepRaw = fc.tuple(fc.constantFrom(...commandNames), fuzzRoomsArb(fuzzRooms), deepText).map(([c, roomId, nested]) => ({
    command: c,
    data: null,
    raw: `{"roomId":"${roomId}","peerId":"fuzz-peer-1","displayName":"D","transportId":"t","producerId":"p","rtpCapabilities":{"x":${nested}},"peers":${nested}}`,
  }));
  return fc.oneof({ weight: 15, arbitrary: body }, { weight: 1, arbitrary: raw }, { weight: 1, arbitrary: deepRaw });
}

function fuzzRoomsArb(rooms: string[]): fc.Arbitrary<string> {
  return fc.constantFrom(...rooms);
}

/** Sends one command and tallies its reply: data, or a ParleyError with a typed code; anything else is a violation. */
export async function sendNatsCommand(bus: NatsBus, instanceId: string, m: NatsFuzzMessage, tally: FuzzTally): Promise<void> {
  const subject = subjects.mediaCommand(instanceId, m.command as MediaCommand);
  tally.sent++;
  let code: string;
  try {
    if (m.raw !== undefined) {
      const msg = await bus.nc.request(subject, m.raw, { timeout: 5000 });
      unwrapReply(msg.json());
    } else {
      await bus.request(subject, m.data, { timeoutMs: 5000 });
    }
    code = 'OK';
  } catch (err) {
    if (err instanceof ParleyError && ErrorCode.safeParse(err.code).success) code = err.code;
    else {
      code = 'UNTYPED';
      tally.violations.push(`untyped failure for ${m.command}: ${String(err).slice(0, 200)}`);
    }
  }
  if (code === 'TIMEOUT' || code === 'UNAVAILABLE') tally.violations.push(`${m.command} got no reply (${code})`);
  tally.replies++;
  tally.codes[code] = (tally.codes[code] ?? 0) + 1;
}

/** Lines of a process's output that betray a crash or an unhandled failure. */
export function crashLines(output: string): string[] {
  return output.split('\n').filter((l) => /unhandled|uncaught|fatal|panic|Segmentation|RangeError|Maximum call stack/i.test(l));
}
