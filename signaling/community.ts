import type { Hono } from 'hono';
import type { Bus } from '../bus/bus.ts';
import { EventLog } from '../bus/event-log.ts';
import { RoomFeedItem } from '../protocol/feed.ts';
import { ADMIN_API_BASE } from '../protocol/http.ts';
import { subjects } from '../protocol/subjects.ts';
import { createAdminApi } from './admin-api.ts';
import { Chat } from './chat.ts';
import type { CommunityConfig } from './community-config.ts';
import { CommunitySession } from './community-session.ts';
import type { CommunityServices, SessionHost } from './community-session.ts';
import type { Lobby } from './lobby.ts';
import type { MediaClient } from './media.ts';
import { Moderation } from './moderation.ts';
import { RoomRegistry } from './room-registry.ts';
import { RoomSubscriptions } from './room-subscriptions.ts';
import { Webhooks } from './webhooks.ts';

export interface Community {
  /** Chat and moderation for one client connection. */
  session(host: SessionHost): CommunitySession;
  /** Mounts the admin HTTP API at its base path. */
  mount(app: Hono): void;
  /** Webhook delivery figures for /metrics. */
  metrics(): string;
  close(): void;
}

/** What makes rooms a community can run: chat, moderation, the room registry, webhooks and the admin API. */
export async function openCommunity(options: {
  bus: Bus;
  media: MediaClient;
  lobby: Lobby;
  config: CommunityConfig;
  secret: string;
  instanceId: string;
}): Promise<Community> {
  const { bus, media, lobby, config } = options;
  const events = await EventLog.open(bus);
  const chat = await Chat.open(bus, config.chat, events);
  await lobby.followChat(chat.heads);
  const moderation = await Moderation.open(bus, media, chat, lobby, config.removalBanMs);
  const rooms = await RoomRegistry.open(bus, lobby, events, config.roomEmptyTimeoutMs);
  const webhooks = await Webhooks.open(bus, config.webhooks, options.instanceId);
  const feeds = new RoomSubscriptions(bus, subjects.roomFeed, (data) => RoomFeedItem.safeParse(data).data);
  const services: CommunityServices = { feeds, media, chat, moderation, rooms, config };
  const api = createAdminApi({ secret: options.secret, apiKeys: config.apiKeys, lobby, rooms, moderation, chat });
  return {
    session: (host) => new CommunitySession(services, host),
    mount: (app) => void app.route(ADMIN_API_BASE, api),
    metrics: () => webhooks.metrics(),
    close() {
      webhooks.close();
      rooms.close();
      moderation.close();
      events.close();
    },
  };
}
