import { communityConfigFromEnv } from './community-config.ts';
import type { CommunityConfig } from './community-config.ts';

export interface SignalingConfig {
  /** This instance's id in presence entries; any unique string. */
  instanceId: string;
  /** HS256 secret that access tokens are signed with; the same on every instance. */
  secret: string;
  /** Serve POST /api/dev/token (anyone can mint tokens): for development only. */
  devTokens: boolean;
  /** How long a dropped connection's membership waits for `resume` before it is closed. */
  graceMs: number;
  /** Requests per second a connection may send on average, and in one burst. */
  ratePerSecond: number;
  rateBurst: number;
  /** How long a draining instance waits for its connections to move before it exits. */
  drainTimeoutMs: number;
  /** Chat, moderation, the admin API and webhooks (community-config.ts). */
  community: CommunityConfig;
}

/** Reads the configuration through `env`, so Node (process.env) and Deno (Deno.env) share this code. */
export function signalingConfigFromEnv(env: (name: string) => string | undefined): SignalingConfig {
  const secret = env('PARLEY_SECRET');
  if (!secret || secret.length < 16) {
    throw new Error('PARLEY_SECRET must be set to at least 16 characters (the same on every signaling instance)');
  }
  return {
    instanceId: env('SIGNALING_INSTANCE_ID') ?? `sig-${crypto.randomUUID().slice(0, 8)}`,
    secret,
    devTokens: env('PARLEY_DEV_TOKENS') === '1',
    graceMs: number(env('SESSION_GRACE_MS')) ?? 20_000,
    ratePerSecond: number(env('RATE_LIMIT_PER_SECOND')) ?? 50,
    rateBurst: number(env('RATE_LIMIT_BURST')) ?? 100,
    drainTimeoutMs: number(env('DRAIN_TIMEOUT_MS')) ?? 30_000,
    community: communityConfigFromEnv(env),
  };
}

function number(value: string | undefined): number | undefined {
  const n = Number(value);
  return value && Number.isFinite(n) && n >= 0 ? n : undefined;
}
