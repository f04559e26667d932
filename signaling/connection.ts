import type { Subscription } from '../bus/bus.ts';
import { ANY_ROOM } from '../protocol/auth.ts';
import type { AccessClaims } from '../protocol/auth.ts';
import { ClientRequest, clientMethods, isClientMethod } from '../protocol/client.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { MAX_CLIENT_MESSAGE_BYTES, MAX_JSON_DEPTH, REPORTED_SPANS_BURST, REPORTED_SPANS_PER_SECOND } from '../protocol/limits.ts';
import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponse } from '../protocol/client.ts';
import { describeZodError, ParleyError, toErrorBody } from '../protocol/errors.ts';
import type { Lobby as LobbyView } from '../protocol/presence.ts';
import type { MediaRequest } from '../protocol/media.ts';
import type { IceServer } from '../protocol/turn.ts';
import type { MediaOperation, Requirement } from '../protocol/operations.ts';
import { assertCodecsOfKind } from '../protocol/webrtc.ts';
import { assertLoadTest, assertPublish, assertRoom, assertSubscribe, expiresAtMs } from './auth.ts';
import type { TokenPolicy } from './auth.ts';
import type { Community } from './community.ts';
import { assertChat, assertModerate, isCommunityMethod } from './community-session.ts';
import type { CommunitySession } from './community-session.ts';
import { tooDeep, tooLarge } from './frames.ts';
import type { MediaClient } from './media.ts';
import type { Membership, MemberSocket } from './memberships/membership.ts';
import type { Memberships } from './memberships/lifecycle.ts';
import { isCode, logError } from './memberships/errors.ts';
import type { Metrics } from './metrics.ts';
import type { Placement } from './placement.ts';
import type { Lobby as LobbyWatch } from './lobby.ts';
import { RateLimiter } from './limits.ts';
import { turnCredential } from './turn.ts';
import type { TurnConfig } from './turn.ts';
import { extractContext, inSpan, ROOT_CONTEXT, SpanKind, tracers } from '../tracing/context.ts';
import type { SpanSink } from '../tracing/sink.ts';

/** What a session needs from its WebSocket, whatever the runtime. */
export interface ClientSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

export interface ConnectionDeps {
  media: MediaClient;
  placement: Placement;
  memberships: Memberships;
  lobby: LobbyWatch;
  metrics: Metrics;
  /** Where the browser's spans go (absent: dropped). */
  traces?: SpanSink;
  community: Community;
  /** TURN servers to hand members credentials for (absent: none). */
  turn?: TurnConfig;
}

/** Media operations go to the peer's media worker unchanged but for room and peer ids. */
type Forwarded = MediaOperation;
/** Once a second per client (or, ping, trivial): a span each would bury the traces worth reading. */
const untraced = new Set<ClientMethod>(['ping', 'reportSpans', 'reportConsumerStats', 'reportProducerStats']);
const producerChanges = new Set<Forwarded>(['produce', 'closeProducer', 'pauseProducer', 'resumeProducer']);

/**
 * One authenticated client connection: validates and rate-limits each request, checks it against the
 * token's grants and runs it. Its room membership lives in Memberships and survives the connection.
 */
export class ClientConnection {
  private membership?: Membership;
  private busy = false;
  /** The socket is gone: a join or resume that finishes now has nobody to hand its membership to. */
  private closed = false;
  private lobbyWatch?: Subscription;
  private readonly memberSocket: MemberSocket;
  /** Closes the connection when its token expires: a token is not good for longer on an open socket. */
  private expiry: ReturnType<typeof setTimeout>;
  /** Browser spans are evidence for /debug, not a store anyone may fill: their own budget per connection. */
  private spanBudget = new RateLimiter(REPORTED_SPANS_PER_SECOND, REPORTED_SPANS_BURST);
  /** Chat and moderation while joined. */
  private readonly community: CommunitySession;
  /**
   * Room notifications while a join or resume reply is on its way: the client must have the room as the reply
   * shows it before any change to it (a peer who joined meanwhile would otherwise be overwritten by the reply).
   */
  private held?: ClientNotification[];

  constructor(
    private socket: ClientSocket,
    private claims: AccessClaims,
    private deps: ConnectionDeps,
    /** Shared by every connection of the same identity. */
    private limiter: RateLimiter,
    policy: TokenPolicy,
  ) {
    this.memberSocket = {
      notify: (n) => (this.held ? this.held.push(n) : this.notify(n)),
      close: (code, reason) => socket.close(code, reason),
    };
    // setTimeout takes at most 2^31-1 ms; tokens live far less (TOKEN_MAX_LIFETIME_S).
    const left = Math.min(expiresAtMs(claims, policy) - Date.now(), 2 ** 31 - 1);
    this.expiry = setTimeout(() => socket.close(CloseCode.unauthorized, 'access token expired'), Math.max(0, left));
    this.community = deps.community.session({
      claims,
      notify: (n) => this.notify(n),
      endMembership: () => this.endMembership(),
    });
  }

  /** Handles one text frame. Never throws: every failure becomes an error response. */
  async onMessage(text: string): Promise<void> {
    if (tooLarge(text)) {
      // Runtimes whose WebSocket has no size limit of its own (Deno) buffered it; nothing more is read.
      this.socket.close(CloseCode.messageTooBig, `messages are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes`);
      return;
    }
    this.send(await this.respond(text));
    if (this.held && !this.busy) this.release();
  }

  onBinary(): void {
    this.send(failure(null, new ParleyError('BAD_REQUEST', 'binary frames are not part of the protocol')));
  }

  /** The socket is gone: the membership waits for a resume until its grace period ends. */
  onClose(): void {
    this.closed = true;
    clearTimeout(this.expiry);
    this.lobbyWatch?.unsubscribe();
    this.community.detach();
    if (this.membership) this.deps.memberships.detach(this.membership, this.memberSocket);
    this.membership = undefined;
  }

  private async respond(text: string): Promise<ClientResponse> {
    if (!this.limiter.tryTake()) {
      return failure(idOf(text), new ParleyError('RATE_LIMITED', 'too many requests; slow down'));
    }
    if (tooDeep(text)) {
      return failure(idOf(text), new ParleyError('BAD_REQUEST', `objects and arrays nest at most ${MAX_JSON_DEPTH} deep`));
    }
    const envelope = ClientRequest.safeParse(parseJson(text));
    if (!envelope.success) {
      return failure(null, new ParleyError('BAD_REQUEST', `not a request: ${describeZodError(envelope.error)}`));
    }
    const { id, method, data, traceparent } = envelope.data;
    const started = performance.now();
    let response: ClientResponse;
    try {
      if (!isClientMethod(method)) throw new ParleyError('UNKNOWN_METHOD', `unknown method ${method}`);
      const parsed = clientMethods[method].request.safeParse(data ?? {});
      if (!parsed.success) throw new ParleyError('BAD_REQUEST', `${method}: ${describeZodError(parsed.error)}`);
      const run = () => this.run(method, parsed.data);
      response = { id, ok: true, data: untraced.has(method) ? await run() : await this.traced(method, traceparent, run) };
    } catch (err) {
      response = failure(id, err);
    }
    this.deps.metrics.request(method, response.ok ? 'OK' : response.error.code, performance.now() - started);
    return response;
  }

  /** The request as a server span continuing the browser's trace; media calls made within it carry it on. */
  private traced(method: ClientMethod, traceparent: string | undefined, run: () => Promise<unknown>): Promise<unknown> {
    const record = this.membership?.record;
    const attributes = {
      'rpc.system': 'parley',
      'rpc.service': 'parley.v1',
      'rpc.method': method,
      'enduser.id': this.claims.sub,
      ...(record && { 'parley.room': record.roomId, 'parley.peer': record.peerId }),
    };
    const parent = extractContext(traceparent ? { traceparent } : undefined, ROOT_CONTEXT);
    return inSpan(tracers.signaling(), `parley.v1/${method}`, { kind: SpanKind.SERVER, parent, attributes }, run);
  }

  private run(method: ClientMethod, data: ClientRequestData<ClientMethod>): Promise<unknown> {
    this.authorize(clientMethods[method].requires, data);
    if (isCommunityMethod(method)) return this.community.run(method, data);
    switch (method) {
      case 'subscribeLobby':
        return Promise.resolve(this.subscribeLobby());
      case 'join':
        return this.exclusive(() => this.join(data as ClientRequestData<'join'>));
      case 'resume':
        return this.exclusive(() => this.resume(data as ClientRequestData<'resume'>));
      case 'leave':
        return this.exclusive(() => this.leave());
      case 'ping':
        return Promise.resolve({});
      case 'reportSpans':
        return Promise.resolve(this.reportSpans(data as ClientRequestData<'reportSpans'>));
      default:
        return this.forward(method, data as ClientRequestData<Forwarded>);
    }
  }

  /** The operation's declared requirement (protocol/operations.ts), before it runs. */
  private authorize(requires: Requirement, data: ClientRequestData<ClientMethod>): void {
    if (requires === 'token') return;
    if (requires === 'lobby') {
      if (this.claims.room !== ANY_ROOM) throw new ParleyError('FORBIDDEN', 'the lobby needs a token for any room');
      return;
    }
    const grants = this.membership?.record.grants;
    if (!grants) throw new ParleyError('NOT_JOINED', 'this needs a joined room');
    if (requires === 'publish') {
      const { source, kind, rtpParameters } = data as ClientRequestData<'produce'>;
      assertPublish(grants, source, kind);
      assertCodecsOfKind(kind, rtpParameters);
    }
    if (requires === 'subscribe') assertSubscribe(grants);
    if (requires === 'chat') assertChat(grants);
    if (requires === 'moderate') assertModerate(grants);
    if (requires === 'loadTest') assertLoadTest(grants);
  }

  private subscribeLobby() {
    this.lobbyWatch ??= this.deps.lobby.subscribe((lobby) => this.sendText(lobbyFrame(lobby)));
    return this.deps.lobby.view();
  }

  private async join({ room, region }: ClientRequestData<'join'>) {
    assertRoom(this.claims, room);
    if (this.membership) throw new ParleyError('ALREADY_JOINED', 'this connection already joined a room');
    // Independent reads, one round trip instead of two: a removed user's placement is only a read (or a room's
    // first placement, which a join of anyone else would make too).
    const [, host] = await Promise.all([this.community.admit(room), this.deps.placement.hostFor(room, region)]);
    this.held ??= [];
    const [membership, snapshot] = await this.joinPlaced(room, region, host);
    // The client left while we joined: it never got the resume token, so nobody can take this seat again.
    if (this.closed) {
      await this.deps.memberships.leave(membership);
      throw new ParleyError('NOT_JOINED', 'the connection closed during join');
    }
    return this.enter(membership, snapshot, true);
  }

  /**
   * A crashed media-worker is listed until its registry TTL runs out: a join it leaves unanswered goes to
   * another instance, once, and placement leaves it out until it heartbeats again. Unanswered is no responder,
   * or a timeout followed by a ping that goes unanswered too: a killed process's NATS interest outlives it for
   * as long as its kernel takes to close its socket (a join sent then waits out its timeout), a vanished host's
   * until the NATS server's ping timeout.
   */
  private async joinPlaced(room: string, region: string | undefined, host: string) {
    try {
      return await this.deps.memberships.join(this.claims, room, host, this.memberSocket);
    } catch (err) {
      const gone = isCode(err, 'UNAVAILABLE') || (isCode(err, 'TIMEOUT') && !(await this.deps.media.answers(host)));
      if (!gone) throw err;
      this.deps.placement.markDead(host);
      const again = await this.deps.placement.hostFor(room, region);
      return this.deps.memberships.join(this.claims, room, again, this.memberSocket);
    }
  }

  private async resume({ resumeToken }: ClientRequestData<'resume'>) {
    if (this.membership) throw new ParleyError('ALREADY_JOINED', 'this connection already joined a room');
    this.held ??= [];
    const [membership, snapshot] = await this.deps.memberships.resume(this.claims, resumeToken, this.memberSocket);
    // The client dropped again while we resumed: its token still works, so the grace period starts over.
    if (this.closed) {
      this.deps.memberships.detach(membership, this.memberSocket);
      throw new ParleyError('NOT_JOINED', 'the connection closed during resume');
    }
    return this.enter(membership, snapshot, false);
  }

  /** The membership is ours; what moderators decided applies to it (a removed user is out again at once). */
  private async enter<T extends object>(membership: Membership, snapshot: T, joined: boolean) {
    this.membership = membership;
    try {
      const self = await this.community.attach(membership, joined);
      return { ...snapshot, self, ...(await this.iceServers()) };
    } catch (err) {
      await this.endMembership().catch(() => undefined);
      throw err;
    }
  }

  /** TURN credentials go to members only (join, resume, createTransport, restartIce), for this identity, fresh each time. */
  private async iceServers(): Promise<{ iceServers?: IceServer[] }> {
    const turn = this.deps.turn;
    return turn ? { iceServers: [await turnCredential(turn, this.claims.sub)] } : {};
  }

  private async leave() {
    await this.endMembership();
    return {};
  }

  private async endMembership(): Promise<void> {
    const membership = this.membership;
    this.membership = undefined;
    this.community.detach();
    if (membership) await this.deps.memberships.leave(membership);
  }

  /** The browser's half of its traces, stamped with who sent it: spans are evidence, not trusted claims. */
  private reportSpans({ spans }: ClientRequestData<'reportSpans'>) {
    if (!this.spanBudget.tryTake(Date.now(), spans.length)) {
      throw new ParleyError('RATE_LIMITED', `at most ${REPORTED_SPANS_PER_SECOND} spans per second; these were dropped`);
    }
    const record = this.membership?.record;
    const stamped = spans.map((span) => ({
      ...span,
      service: 'parley-web',
      attributes: { ...span.attributes, 'enduser.id': this.claims.sub, ...(record && { 'parley.peer': record.peerId }) },
    }));
    this.deps.traces?.sink('parley-web', stamped);
    return {};
  }

  private async forward(method: Forwarded, data: ClientRequestData<Forwarded>): Promise<unknown> {
    const membership = this.membership;
    if (!membership) throw new ParleyError('NOT_JOINED', `${method} needs a joined room`);
    const { roomId, peerId, mediaInstanceId } = membership.record;
    const request = { ...data, roomId, peerId } as MediaRequest<Forwarded>;
    await this.community.guard(method, data);
    const reply = await this.deps.media.call(mediaInstanceId, method, request);
    if (producerChanges.has(method)) await this.trackProducers(membership, method, data, reply);
    if (method === 'produce') {
      await this.community.produced((data as ClientRequestData<'produce'>).source, (reply as { producerId: string }).producerId);
    }
    // Both gather relay candidates anew, maybe long after the join: with credentials that have not expired.
    if (method === 'createTransport' || method === 'restartIce') return { ...(reply as object), ...(await this.iceServers()) };
    return reply;
  }

  /** Keeps presence (mic / camera / screen on, muted) right as soon as a producer changes. */
  private async trackProducers(membership: Membership, method: Forwarded, data: ClientRequestData<Forwarded>, reply: unknown) {
    if (method === 'produce') {
      const { source } = data as ClientRequestData<'produce'>;
      membership.producers.set((reply as { producerId: string }).producerId, { source, paused: false });
    } else {
      const { producerId } = data as ClientRequestData<'closeProducer'>;
      const producer = membership.producers.get(producerId);
      if (method === 'closeProducer') membership.producers.delete(producerId);
      else if (producer) producer.paused = method === 'pauseProducer';
    }
    // The producer is made either way: a presence bucket out of reach (a cut link to its region) gets it at the
    // next heartbeat.
    await this.deps.memberships.publishPresence(membership).catch(logError('presence'));
  }

  /** join, resume and leave change the membership: one at a time per connection. */
  private async exclusive<T>(run: () => Promise<T>): Promise<T> {
    if (this.busy) throw new ParleyError('CONFLICT', 'another join, resume or leave is in progress');
    this.busy = true;
    try {
      return await run();
    } finally {
      this.busy = false;
    }
  }

  private notify(notification: ClientNotification): void {
    this.send(notification);
  }

  /** After the join or resume reply: the room's changes since it was made, in order. */
  private release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const n of held) this.notify(n);
  }

  private send(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  private sendText(text: string): void {
    try {
      this.socket.send(text);
    } catch {
      // The socket closed under us; onClose cleans up.
    }
  }
}

/** Every lobby subscriber gets the same view after a change: it is serialized once, not once per connection. */
const lobbyFrames = new WeakMap<LobbyView, string>();

function lobbyFrame(lobby: LobbyView): string {
  let frame = lobbyFrames.get(lobby);
  if (frame === undefined) {
    frame = JSON.stringify({ notification: 'lobby', data: lobby } satisfies ClientNotification);
    lobbyFrames.set(lobby, frame);
  }
  return frame;
}

function failure(id: number | null, err: unknown): ClientResponse {
  return { id, ok: false, error: toErrorBody(err) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The id of a request we refuse without parsing it fully, so the client can match the error. */
function idOf(text: string): number | null {
  const match = /"id"\s*:\s*(\d{1,15})/.exec(text);
  return match ? Number(match[1]) : null;
}
