import type { Bus, Headers, Subscription } from '../bus/bus.ts';
import { ClientRequest, clientMethods, isClientMethod, MAX_CLIENT_MESSAGE_BYTES } from '../protocol/client.ts';
import type { ClientMethod, ClientRequestData, ClientResponse, ClientResponseData } from '../protocol/client.ts';
import { describeZodError, ParleyError, toErrorBody } from '../protocol/errors.ts';
import { RoomEvent } from '../protocol/media.ts';
import type { MediaRequest } from '../protocol/media.ts';
import { subjects } from '../protocol/subjects.ts';
import type { MediaClient } from './media.ts';
import type { Placement } from './placement.ts';
import { notificationFor } from './rooms.ts';

/** What a session needs from its WebSocket, whatever the runtime. */
export interface ClientSocket {
  send(text: string): void;
}

export interface SessionDeps {
  bus: Bus;
  media: MediaClient;
  placement: Placement;
}

interface Joined {
  roomId: string;
  peerId: string;
  instanceId: string;
  events: Subscription;
}

/** Commands a joined client sends that go to its media worker unchanged but for room and peer ids. */
const forwarded = [
  'createTransport',
  'connectTransport',
  'produce',
  'closeProducer',
  'consume',
  'resumeConsumer',
] as const satisfies readonly ClientMethod[];
type Forwarded = (typeof forwarded)[number];

/** One client connection: validates each request, runs it, and forwards the room's events. */
export class Session {
  private joined?: Joined;
  private joining = false;

  constructor(
    private socket: ClientSocket,
    private deps: SessionDeps,
  ) {}

  /** Handles one text frame. Never throws: every failure becomes an error response. */
  async onMessage(text: string): Promise<void> {
    const response = await this.respond(text);
    this.send(response);
  }

  onBinary(): void {
    this.send(failure(null, new ParleyError('BAD_REQUEST', 'binary frames are not part of the protocol')));
  }

  /** The socket is gone: free the peer's media so nobody keeps consuming a ghost. */
  async onClose(): Promise<void> {
    await this.leave().catch(() => undefined);
  }

  private async respond(text: string): Promise<ClientResponse> {
    if (text.length > MAX_CLIENT_MESSAGE_BYTES) {
      return failure(null, new ParleyError('PAYLOAD_TOO_LARGE', `messages are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes`));
    }
    const envelope = ClientRequest.safeParse(parseJson(text));
    if (!envelope.success) {
      return failure(null, new ParleyError('BAD_REQUEST', `not a request: ${describeZodError(envelope.error)}`));
    }
    const { id, method, data, traceparent } = envelope.data;
    try {
      if (!isClientMethod(method)) throw new ParleyError('UNKNOWN_METHOD', `unknown method ${method}`);
      const parsed = clientMethods[method].request.safeParse(data ?? {});
      if (!parsed.success) throw new ParleyError('BAD_REQUEST', `${method}: ${describeZodError(parsed.error)}`);
      const headers: Headers = traceparent ? { traceparent } : {};
      return { id, ok: true, data: await this.run(method, parsed.data, headers) };
    } catch (err) {
      return failure(id, err);
    }
  }

  private run(method: ClientMethod, data: ClientRequestData<ClientMethod>, headers: Headers): Promise<unknown> {
    if (method === 'join') return this.join(data as ClientRequestData<'join'>, headers);
    if (method === 'leave') return this.leave(headers).then(() => ({}));
    return this.forward(method, data as ClientRequestData<Forwarded>, headers);
  }

  private async join({ room, displayName }: ClientRequestData<'join'>, headers: Headers): Promise<ClientResponseData<'join'>> {
    if (this.joined || this.joining) throw new ParleyError('ALREADY_JOINED', 'this connection already joined a room');
    this.joining = true;
    try {
      const peerId = crypto.randomUUID();
      const instanceId = await this.deps.placement.hostFor(room);
      // Listen before joining so no event between the media worker's reply and our subscription is lost.
      const events = this.deps.bus.subscribe(subjects.roomEvents(room), (msg) => this.onRoomEvent(msg.data));
      try {
        await this.deps.bus.flush();
        const reply = await this.deps.media.call(instanceId, 'join', { roomId: room, peerId, displayName }, headers);
        this.joined = { roomId: room, peerId, instanceId, events };
        return { peerId, ...reply };
      } catch (err) {
        events.unsubscribe();
        throw err;
      }
    } finally {
      this.joining = false;
    }
  }

  private async leave(headers: Headers = {}): Promise<void> {
    const joined = this.joined;
    if (!joined) return;
    this.joined = undefined;
    joined.events.unsubscribe();
    await this.deps.media.call(joined.instanceId, 'leave', { roomId: joined.roomId, peerId: joined.peerId }, headers);
  }

  private forward(method: Forwarded, data: ClientRequestData<Forwarded>, headers: Headers): Promise<unknown> {
    const joined = this.joined;
    if (!joined) throw new ParleyError('NOT_JOINED', `${method} needs a joined room`);
    const request = { ...data, roomId: joined.roomId, peerId: joined.peerId };
    // Each forwarded client method has a media command of the same name and the same data plus ids.
    return this.deps.media.call(joined.instanceId, method, request as MediaRequest<Forwarded>, headers);
  }

  private onRoomEvent(raw: unknown): void {
    const event = RoomEvent.safeParse(raw);
    if (!event.success || !this.joined) return;
    const notification = notificationFor(event.data, this.joined.peerId);
    if (notification) this.send(notification);
  }

  private send(message: unknown): void {
    try {
      this.socket.send(JSON.stringify(message));
    } catch {
      // The socket closed under us; onClose cleans up.
    }
  }
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
