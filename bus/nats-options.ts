import fs from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core';
import type { ConnectionOptions } from '@nats-io/nats-core';
import { list, readEnv, text } from '../config/env.ts';
import type { Env } from '../config/env.ts';
import { StartupError } from '../config/startup.ts';

/**
 * Reconnect fast and forever: a restarted nats-server is back in a second, and every request waits for us.
 */
export const NATS_RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100 } as const;

/**
 * Who a process is on NATS. Each role has its own inbox prefix, so a role's subscribe permission can cover its
 * own replies only (infra/nats/permissions.conf): a media worker cannot read what signaling is answered.
 */
export type NatsRole = 'signaling' | 'media-worker' | 'combined';
export const NATS_INBOX_PREFIX: Record<NatsRole, string> = {
  signaling: '_INBOX.signaling',
  'media-worker': '_INBOX.media',
  combined: '_INBOX.combined',
};

/** How to reach NATS: the servers, TCP or WebSocket (by their scheme), and the connection options. */
export interface NatsSettings {
  servers: string[];
  transport: 'tcp' | 'websocket';
  options: Omit<ConnectionOptions, 'servers' | 'name'>;
  /** For log lines: who we authenticate as (never the secret). */
  identity: string;
}

const natsEnv = {
  NATS_URL: list(),
  NATS_USER: text(),
  NATS_PASSWORD: text(),
  NATS_TOKEN: text(),
  NATS_CREDS: text(),
  NATS_NKEY_SEED: text(),
  NATS_TLS_CA: text(),
  NATS_TLS_CERT: text(),
  NATS_TLS_KEY: text(),
  DENO_CERT: text(),
};

/**
 * The NATS connection every tier makes, from the environment (the same contract for Node over TCP and Deno
 * over WebSocket): undefined when NATS_URL is unset (the embedded, in-process bus). One credential at most:
 * NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED (a seed file) or NATS_CREDS (a .creds file); TLS with
 * NATS_TLS_CA (a private CA) and NATS_TLS_CERT/NATS_TLS_KEY (a client certificate, for servers that verify it).
 */
export function natsOptionsFromEnv(env: Env, role: NatsRole): NatsSettings | undefined {
  const e = readEnv(natsEnv, env);
  if (!e.NATS_URL || e.NATS_URL.length === 0) return undefined;
  const transport = transportOf(e.NATS_URL);
  const credentials = [
    e.NATS_USER || e.NATS_PASSWORD ? 'NATS_USER/NATS_PASSWORD' : undefined,
    e.NATS_TOKEN ? 'NATS_TOKEN' : undefined,
    e.NATS_NKEY_SEED ? 'NATS_NKEY_SEED' : undefined,
    e.NATS_CREDS ? 'NATS_CREDS' : undefined,
  ].filter(Boolean);
  if (credentials.length > 1) throw new StartupError(`configuration: set one NATS credential, not ${credentials.join(' and ')}`);
  if (Boolean(e.NATS_USER) !== Boolean(e.NATS_PASSWORD)) {
    throw new StartupError('configuration: NATS_USER and NATS_PASSWORD go together');
  }
  if (Boolean(e.NATS_TLS_CERT) !== Boolean(e.NATS_TLS_KEY)) {
    throw new StartupError('configuration: NATS_TLS_CERT and NATS_TLS_KEY go together');
  }
  // noAsyncTraces: nats.js otherwise captures a stack for every request (an Error made up front, in case it
  // fails), 3-4 % of signaling's CPU samples in the join benchmark. Our errors name the subject instead.
  const options: NatsSettings['options'] = { ...NATS_RECONNECT, noAsyncTraces: true, inboxPrefix: NATS_INBOX_PREFIX[role] };
  let identity = 'no credentials';
  if (e.NATS_USER && e.NATS_PASSWORD) {
    Object.assign(options, { user: e.NATS_USER, pass: e.NATS_PASSWORD });
    identity = `user ${e.NATS_USER}`;
  } else if (e.NATS_TOKEN) {
    options.token = e.NATS_TOKEN;
    identity = 'a token';
  } else if (e.NATS_NKEY_SEED) {
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFile('NATS_NKEY_SEED', e.NATS_NKEY_SEED).trim()));
    identity = `the nkey in ${e.NATS_NKEY_SEED}`;
  } else if (e.NATS_CREDS) {
    options.authenticator = credsAuthenticator(new TextEncoder().encode(readFile('NATS_CREDS', e.NATS_CREDS)));
    identity = `the credentials in ${e.NATS_CREDS}`;
  }
  if (transport === 'websocket') checkWebSocketTls(e);
  else if (e.NATS_TLS_CA || e.NATS_TLS_CERT) {
    options.tls = {
      ...(e.NATS_TLS_CA && { ca: readFile('NATS_TLS_CA', e.NATS_TLS_CA) }),
      ...(e.NATS_TLS_CERT && { cert: readFile('NATS_TLS_CERT', e.NATS_TLS_CERT) }),
      ...(e.NATS_TLS_KEY && { key: readFile('NATS_TLS_KEY', e.NATS_TLS_KEY) }),
    };
  }
  return { servers: e.NATS_URL, transport, options, identity };
}

function transportOf(urls: string[]): 'tcp' | 'websocket' {
  const schemes = new Set(urls.map((u) => (/^(wss?):\/\//.test(u) ? 'websocket' : 'tcp')));
  if (schemes.size > 1) throw new StartupError('configuration: NATS_URL mixes WebSocket (ws://, wss://) and TCP servers');
  return schemes.has('websocket') ? 'websocket' : 'tcp';
}

/**
 * A WebSocket's TLS is the runtime's: a client certificate cannot be given at all, and Deno trusts a private CA
 * only through DENO_CERT (read when the process starts), so NATS_TLS_CA must name the same file.
 */
function checkWebSocketTls(e: { NATS_TLS_CA?: string; NATS_TLS_CERT?: string; DENO_CERT?: string }): void {
  if (e.NATS_TLS_CERT) {
    throw new StartupError(
      'configuration: NATS_TLS_CERT: client certificates cannot be used over WebSocket; authenticate with NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED or NATS_CREDS',
    );
  }
  if (e.NATS_TLS_CA && e.DENO_CERT !== e.NATS_TLS_CA) {
    throw new StartupError(
      `configuration: NATS_TLS_CA over WebSocket: also set DENO_CERT=${e.NATS_TLS_CA} (Deno's WebSocket trusts extra CAs only from there)`,
    );
  }
}

function readFile(variable: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartupError(`configuration: ${variable}: cannot read ${file} (${(err as { code?: string }).code ?? String(err)})`);
  }
}

/** One line for a failed first connection: where, as whom, and NATS's own words (refused, auth, TLS). */
export function describeNatsFailure(nats: NatsSettings, err: unknown): string {
  const why = err instanceof Error ? err.message : String(err);
  const hint = /authorization|authentication|permissions/i.test(why)
    ? ' (check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY_SEED or NATS_CREDS)'
    : /certificate|tls|ssl/i.test(why)
      ? ' (check NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY)'
      : '';
  return `cannot connect to NATS at ${nats.servers.join(',')} as ${nats.identity}: ${why}${hint}`;
}
