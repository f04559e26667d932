import type { ClientError, ParleyClient } from '../client/index.ts';
import type { Call } from '../client/index.ts';
import type { ChatMessage } from '../protocol/chat.ts';
import type { ClientMethod, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import type { SelfState } from '../protocol/moderation.ts';

type Removal = Extract<ClientError, { kind: 'removed' }>;

/** A bot's chat and moderation, through the SDK, and what it was told of them (tests read these). */
export class BotCommunity {
  /** Every time the bot was removed (or its room ended), with the reason it was given. */
  readonly removals: Removal[] = [];

  /** When each chat message (by id) arrived live, epoch ms: tests time delivery with it. */
  readonly arrivals = new Map<string, number>();

  constructor(private client: ParleyClient) {
    client.on('error', (e) => {
      if (e.kind === 'removed') this.removals.push(e);
    });
    client.on('notification', (n) => {
      if (n.notification === 'chat' && !this.arrivals.has(n.data.id)) this.arrivals.set(n.data.id, Date.now());
    });
  }

  /** The room's chat as the bot has it, oldest first. */
  get messages(): ChatMessage[] {
    return this.client.get('chat');
  }

  get self(): SelfState | null {
    return this.client.get('self');
  }

  send(text: string): Promise<ChatMessage> {
    return this.call().chat.send(text);
  }

  get moderator(): Call['moderator'] {
    return this.call().moderator;
  }

  /** Any protocol request, around the SDK's own checks (tests show the server refuses it too). */
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>): Promise<ClientResponseData<M>> {
    return this.client.request(method, data);
  }

  /** Joins `room` again on the same connection and token (refused with REMOVED after a removal). */
  async rejoin(room: string): Promise<void> {
    await this.client.join(room);
  }

  private call(): Call {
    const call = this.client.call;
    if (!call || call.closed) throw new Error('not in a room');
    return call;
  }
}
