import { z } from 'zod';
import type { Env as Environment } from '../config/env.ts';
import { StartupError } from '../config/startup.ts';
import { WebhookEventType } from '../protocol/webhooks.ts';

const seconds = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
/** A comma-separated list whose items are each checked by `item`. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      String(value ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    z.array(item),
  );

/** Chat, moderation, the admin API and webhooks, read from the environment (README: Configuration). */
const Env = z
  .object({
    CHAT_HISTORY_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(200),
    CHAT_HISTORY_MAX_AGE_S: seconds(24 * 3600),
    CHAT_RATE_PER_SECOND: z.coerce.number().positive().default(1),
    CHAT_RATE_BURST: z.coerce.number().int().min(1).default(5),
    REMOVAL_BAN_S: seconds(6 * 3600),
    ROOM_EMPTY_TIMEOUT_S: seconds(20),
    PARLEY_API_KEYS: list(z.string().min(32, 'each PARLEY_API_KEYS key needs at least 32 characters')),
    WEBHOOK_URLS: list(z.url({ protocol: /^https?$/ })),
    WEBHOOK_SECRET: z.string().min(32, 'WEBHOOK_SECRET needs at least 32 characters').optional(),
    WEBHOOK_EVENTS: list(WebhookEventType),
    WEBHOOK_BACKOFF_MS: list(z.coerce.number().int().positive()),
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(12),
    WEBHOOK_ACK_WAIT_MS: z.coerce.number().int().min(100).default(30_000),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  })
  .refine((e) => e.WEBHOOK_URLS.length === 0 || e.WEBHOOK_SECRET, {
    message: 'WEBHOOK_SECRET is required with WEBHOOK_URLS (receivers check the signature with it)',
  })
  .refine((e) => e.WEBHOOK_TIMEOUT_MS < e.WEBHOOK_ACK_WAIT_MS, {
    message: 'WEBHOOK_TIMEOUT_MS must be shorter than WEBHOOK_ACK_WAIT_MS (or a slow receiver gets every event twice)',
  });

export interface CommunityConfig {
  chat: { historyMessages: number; historyMaxAgeMs: number; ratePerSecond: number; rateBurst: number };
  /** How long a removed user's tokens issued before the removal are refused in that room. */
  removalBanMs: number;
  /** A room started by a join finishes once it has been empty this long. */
  roomEmptyTimeoutMs: number;
  /** Server API keys for the admin API (an admin token works too). */
  apiKeys: string[];
  webhooks: {
    urls: string[];
    secret: string;
    events: WebhookEventType[];
    backoffMs: number[];
    maxAttempts: number;
    ackWaitMs: number;
    timeoutMs: number;
  };
}

const DEFAULT_BACKOFF_MS = [1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000];

/** Throws one StartupError naming every bad variable. */
export function communityConfigFromEnv(env: Environment): CommunityConfig {
  const raw = Object.fromEntries(Object.keys(Env.shape).map((name) => [name, env[name] || undefined]));
  const parsed = Env.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new StartupError(`configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    chat: {
      historyMessages: e.CHAT_HISTORY_MESSAGES,
      historyMaxAgeMs: e.CHAT_HISTORY_MAX_AGE_S * 1000,
      ratePerSecond: e.CHAT_RATE_PER_SECOND,
      rateBurst: e.CHAT_RATE_BURST,
    },
    removalBanMs: e.REMOVAL_BAN_S * 1000,
    roomEmptyTimeoutMs: e.ROOM_EMPTY_TIMEOUT_S * 1000,
    apiKeys: e.PARLEY_API_KEYS,
    webhooks: {
      urls: e.WEBHOOK_URLS,
      secret: e.WEBHOOK_SECRET ?? '',
      events: e.WEBHOOK_EVENTS.length > 0 ? e.WEBHOOK_EVENTS : WebhookEventType.options,
      backoffMs: e.WEBHOOK_BACKOFF_MS.length > 0 ? e.WEBHOOK_BACKOFF_MS : DEFAULT_BACKOFF_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      ackWaitMs: e.WEBHOOK_ACK_WAIT_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  };
}
