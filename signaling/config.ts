import { flag, int, list, positive, readEnv, region, regionUrls, subjectToken, text } from '../config/env.ts';
import type { Env } from '../config/env.ts';
import { StartupError } from '../config/startup.ts';
import { DEFAULT_TOKEN_POLICY } from './auth.ts';
import { communityConfigFromEnv } from './community-config.ts';
import { TURN_URL } from '../protocol/turn.ts';
import { DEFAULT_REGION } from '../protocol/regions.ts';
import type { RegionEndpoint } from '../protocol/regions.ts';
import type { TurnConfig } from './turn.ts';
import type { CommunityConfig } from './community-config.ts';

export interface SignalingConfig {
  /** This instance's id in presence entries; any unique string. */
  instanceId: string;
  /** PARLEY_REGION: its participants' media goes to a media-worker of this region (unless they measured another faster). */
  region: string;
  /** PARLEY_REGION_URLS: each region's public base URL, which clients time to pick the region they reach fastest. */
  regionUrls: RegionEndpoint[];
  /** HS256 secret that access tokens are signed with; the same on every instance. */
  secret: string;
  /** Serve POST /api/dev/token (anyone can mint tokens): for development only. */
  devTokens: boolean;
  /** Why dev tokens were asked for but are off (logged at start). */
  devTokensRefused?: string;
  /** How long a dropped connection's membership waits for `resume` before it is closed. */
  graceMs: number;
  /**
   * How often every client WebSocket is pinged; one that has not answered the previous ping is closed (its
   * membership enters the grace period). A client whose network vanished sends no FIN, so without this its
   * socket would look open until TCP gives up, minutes later.
   */
  heartbeatS: number;
  /** Requests per second an identity may send on average, and in one burst (over all its connections). */
  ratePerSecond: number;
  rateBurst: number;
  /** How long a draining instance waits for its connections to move before it exits. */
  drainTimeoutMs: number;
  /** Browser origins allowed on /ws and /api (`*`: any); their hosts are the Host headers accepted. */
  allowedOrigins: string[] | '*';
  /** Open WebSockets per identity (token subject) and per client address on this instance. */
  maxConnectionsPerIdentity: number;
  maxConnectionsPerIp: number;
  /** Take the client address from X-Forwarded-For (signaling behind a reverse proxy). */
  trustProxy: boolean;
  /** Access tokens living longer than this (exp - iat) are refused. */
  tokenMaxLifetimeS: number;
  /** Clock difference tolerated on iat, nbf and exp. */
  clockSkewS: number;
  /** Chat, moderation, the admin API and webhooks (community-config.ts). */
  community: CommunityConfig;
  /** TURN servers members get credentials for with each join and resume (absent: none). */
  turn?: TurnConfig;
}

/** Where the HTTP server listens, and what else it serves. */
export interface ServerConfig {
  port: number;
  /** Interface to bind: 127.0.0.1 for the embedded default, 0.0.0.0 for a deployment's signaling. */
  host: string;
  webRoot?: string;
  https: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

const signalingEnv = {
  PARLEY_SECRET: text(),
  SIGNALING_INSTANCE_ID: subjectToken(),
  PARLEY_REGION: region(),
  PARLEY_REGION_URLS: regionUrls(),
  PARLEY_DEV_TOKENS: flag(),
  NATS_URL: text(),
  NODE_ENV: text(),
  SESSION_GRACE_MS: int(0, 24 * 60 * 60 * 1000),
  SIGNALING_HEARTBEAT_S: int(1, 300),
  RATE_LIMIT_PER_SECOND: positive(),
  RATE_LIMIT_BURST: int(1),
  DRAIN_TIMEOUT_MS: int(0, 24 * 60 * 60 * 1000),
  ALLOWED_ORIGINS: list(),
  MAX_CONNECTIONS_PER_IDENTITY: int(1),
  MAX_CONNECTIONS_PER_IP: int(1),
  TRUST_PROXY: flag(),
  TOKEN_MAX_LIFETIME_S: int(60),
  TOKEN_CLOCK_SKEW_S: int(0, 600),
  TURN_URLS: list(),
  TURN_SECRET: text(),
  TURN_TTL_S: int(60, 24 * 60 * 60),
};

/** Reads and validates the configuration from `env` (process.env on Node, Deno.env.toObject() on Deno). */
export function signalingConfigFromEnv(env: Env): SignalingConfig {
  const e = readEnv(signalingEnv, env);
  if (!e.PARLEY_SECRET || e.PARLEY_SECRET.length < 16) {
    throw new StartupError('PARLEY_SECRET must be set to at least 16 characters (the same on every signaling instance)');
  }
  const refused = devTokensRefusal(e.NATS_URL, e.NODE_ENV);
  const devTokens = e.PARLEY_DEV_TOKENS === true && refused === undefined;
  return {
    instanceId: e.SIGNALING_INSTANCE_ID ?? `sig-${crypto.randomUUID().slice(0, 8)}`,
    region: e.PARLEY_REGION ?? DEFAULT_REGION,
    regionUrls: e.PARLEY_REGION_URLS ?? [],
    secret: e.PARLEY_SECRET,
    devTokens,
    devTokensRefused: e.PARLEY_DEV_TOKENS && !devTokens ? refused : undefined,
    graceMs: e.SESSION_GRACE_MS ?? 20_000,
    heartbeatS: e.SIGNALING_HEARTBEAT_S ?? 15,
    ratePerSecond: e.RATE_LIMIT_PER_SECOND ?? 50,
    rateBurst: e.RATE_LIMIT_BURST ?? 100,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS ?? 30_000,
    allowedOrigins: origins(e.ALLOWED_ORIGINS),
    maxConnectionsPerIdentity: e.MAX_CONNECTIONS_PER_IDENTITY ?? 20,
    maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP ?? 200,
    trustProxy: e.TRUST_PROXY ?? false,
    tokenMaxLifetimeS: e.TOKEN_MAX_LIFETIME_S ?? DEFAULT_TOKEN_POLICY.tokenMaxLifetimeS,
    clockSkewS: e.TOKEN_CLOCK_SKEW_S ?? DEFAULT_TOKEN_POLICY.clockSkewS,
    community: communityConfigFromEnv(env),
    turn: turnConfig(e.TURN_URLS, e.TURN_SECRET, e.TURN_TTL_S),
  };
}

/** TURN is off unless TURN_URLS is set; then its shared secret must be too. */
function turnConfig(urls: string[] | undefined, secret: string | undefined, ttlS: number | undefined): TurnConfig | undefined {
  if (!urls || urls.length === 0) {
    if (secret) throw new StartupError('configuration: TURN_SECRET is set but TURN_URLS is not: set both or neither');
    return undefined;
  }
  const wrong = urls.find((u) => !TURN_URL.test(u));
  if (wrong !== undefined) {
    throw new StartupError(
      `configuration: TURN_URLS: ${JSON.stringify(wrong)} is not a TURN URL like turn:turn.example.com:3478?transport=udp or turns:turn.example.com:443?transport=tcp`,
    );
  }
  if (urls.length > 8) throw new StartupError('configuration: TURN_URLS: at most 8 URLs');
  if (!secret || secret.length < 16) {
    throw new StartupError(
      "configuration: TURN_SECRET must be set to at least 16 characters (coturn's static-auth-secret) when TURN_URLS is",
    );
  }
  return { urls, secret, ttlS: ttlS ?? 3600 };
}

const serverEnv = {
  PORT: int(0, 65535),
  HOST: text(),
  WEB_ROOT: text(),
  HTTPS: flag(),
  TLS_CERT_FILE: text(),
  TLS_KEY_FILE: text(),
};

/** The listener: `defaultHost` is 127.0.0.1 for the embedded default, 0.0.0.0 for deployments. */
export function serverConfigFromEnv(env: Env, defaults: { host: string; webRoot?: string }): ServerConfig {
  const e = readEnv(serverEnv, env);
  if (Boolean(e.TLS_CERT_FILE) !== Boolean(e.TLS_KEY_FILE)) {
    throw new StartupError('configuration: TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither');
  }
  return {
    port: e.PORT ?? 3000,
    host: e.HOST ?? defaults.host,
    webRoot: e.WEB_ROOT ?? defaults.webRoot,
    https: e.HTTPS === true || Boolean(e.TLS_CERT_FILE),
    tlsCertFile: e.TLS_CERT_FILE,
    tlsKeyFile: e.TLS_KEY_FILE,
  };
}

/** Dev tokens let anyone in: never in production, never on a process that joins a deployment. */
function devTokensRefusal(natsUrl: string | undefined, nodeEnv: string | undefined): string | undefined {
  if (natsUrl) return 'this process joins a deployment (NATS_URL is set)';
  if (nodeEnv === 'production') return 'NODE_ENV is production';
  return undefined;
}

function origins(values: string[] | undefined): string[] | '*' {
  if (!values || values.length === 0) return [];
  if (values.includes('*')) return '*';
  return values.map((value) => {
    const origin = originOf(value);
    if (!origin) {
      throw new StartupError(
        `configuration: ALLOWED_ORIGINS: ${JSON.stringify(value)} is not an origin like https://parley.example.com`,
      );
    }
    return origin;
  });
}

/** `scheme://host[:port]` with no path, or undefined. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    const bare = value.replace(/\/$/, '');
    return /^https?:$/.test(url.protocol) && url.origin === bare ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
