import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Authenticator } from '@nats-io/nats-core';
import { createAccount, createUser } from '@nats-io/nkeys';
import { afterAll, describe, expect, it } from 'vitest';
import { natsOptionsFromEnv } from '../../bus/nats-options.ts';
import { describeStartupFailure, StartupError } from '../../config/startup.ts';
import { mediaConfigFromEnv } from '../../media-worker/config.ts';
import { serverConfigFromEnv, signalingConfigFromEnv } from '../../signaling/config.ts';
import { otlpTracesUrl } from '../../tracing/otlp-json.ts';

const SECRET = 'a-secret-of-at-least-16';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The one line an operator would read, or 'ok'. */
const said = (read: () => unknown) => {
  try {
    read();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(StartupError);
    return describeStartupFailure(err);
  }
};

describe('signaling configuration', () => {
  it('names the variable of every wrong value instead of falling back to a default', () => {
    const read = (env: Record<string, string>) => () => signalingConfigFromEnv({ PARLEY_SECRET: SECRET, ...env });
    expect(said(read({ SESSION_GRACE_MS: '20s' }))).toBe(
      'configuration: SESSION_GRACE_MS: expected a whole number from 0 to 86400000 (got "20s")',
    );
    expect(said(read({ RATE_LIMIT_PER_SECOND: '-5' }))).toBe(
      'configuration: RATE_LIMIT_PER_SECOND: expected a number greater than 0 (got "-5")',
    );
    expect(said(read({ PARLEY_DEV_TOKENS: 'maybe' }))).toBe(
      'configuration: PARLEY_DEV_TOKENS: expected 1 or 0 (true or false) (got "maybe")',
    );
    expect(said(read({ PARLEY_REGION_URLS: 'seoul=https://seoul.example,frankfurt' }))).toBe(
      'configuration: PARLEY_REGION_URLS: expected region=http(s)://host, got "frankfurt" (got "seoul=https://seoul.example,frankfurt")',
    );
    expect(
      signalingConfigFromEnv({
        PARLEY_SECRET: SECRET,
        PARLEY_REGION_URLS: ' seoul=https://s.example , fra=http://f.example:8080',
      }).regionUrls,
    ).toEqual([
      { region: 'seoul', url: 'https://s.example' },
      { region: 'fra', url: 'http://f.example:8080' },
    ]);
    expect(said(read({ SIGNALING_INSTANCE_ID: 'a.b' }))).toBe(
      'configuration: SIGNALING_INSTANCE_ID: expected 1-64 letters, digits, - or _ (got "a.b")',
    );
    expect(said(read({ ALLOWED_ORIGINS: 'https://ok.example,parley.example.com/path' }))).toBe(
      'configuration: ALLOWED_ORIGINS: "parley.example.com/path" is not an origin like https://parley.example.com',
    );
    expect(said(() => signalingConfigFromEnv({}))).toBe(
      'PARLEY_SECRET must be set to at least 16 characters (the same on every signaling instance)',
    );
    // Secrets are never repeated in messages (they end up in logs).
    expect(said(() => serverConfigFromEnv({ PORT: 'http' }, { host: '0.0.0.0' }))).toBe(
      'configuration: PORT: expected a whole number from 0 to 65535 (got "http")',
    );
  });

  it('turns dev tokens off in a deployment and in production, and says why', () => {
    const on = { PARLEY_SECRET: SECRET, PARLEY_DEV_TOKENS: '1' };
    expect(signalingConfigFromEnv(on)).toMatchObject({ devTokens: true, devTokensRefused: undefined });
    expect(signalingConfigFromEnv({ ...on, NATS_URL: 'nats://n:4222' })).toMatchObject({
      devTokens: false,
      devTokensRefused: 'this process joins a deployment (NATS_URL is set)',
    });
    expect(signalingConfigFromEnv({ ...on, NODE_ENV: 'production' })).toMatchObject({
      devTokens: false,
      devTokensRefused: 'NODE_ENV is production',
    });
  });

  it('takes empty variables as unset and reads defaults', () => {
    const config = signalingConfigFromEnv({ PARLEY_SECRET: SECRET, SESSION_GRACE_MS: '', ALLOWED_ORIGINS: ' ' });
    expect(config).toMatchObject({
      graceMs: 20_000,
      heartbeatS: 15,
      allowedOrigins: [],
      maxConnectionsPerIdentity: 20,
      clockSkewS: 30,
    });
    expect(serverConfigFromEnv({}, { host: '127.0.0.1' })).toMatchObject({ port: 3000, host: '127.0.0.1', https: false });
  });
});

describe('tracing configuration', () => {
  it('refuses an OTLP endpoint that is not a URL', () => {
    expect(said(() => otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }))).toBe(
      'configuration: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL (got "collector:4318")',
    );
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
  });
});

describe('media-worker configuration', () => {
  it('listens on a loopback announced address itself, and on every interface for any other', () => {
    const listen = (env: Record<string, string>) => {
      const { listenIp, pipeListenIp } = mediaConfigFromEnv(env);
      return { listenIp, pipeListenIp };
    };
    expect(listen({})).toEqual({ listenIp: '127.0.0.1', pipeListenIp: '127.0.0.1' });
    expect(listen({ MEDIA_ANNOUNCED_ADDRESS: '203.0.113.7' })).toEqual({ listenIp: '0.0.0.0', pipeListenIp: '0.0.0.0' });
    expect(listen({ MEDIA_ANNOUNCED_ADDRESS: '203.0.113.7', MEDIA_PIPE_ANNOUNCED_ADDRESS: '127.0.0.3' })).toEqual({
      listenIp: '0.0.0.0',
      pipeListenIp: '127.0.0.3',
    });
    expect(listen({ MEDIA_LISTEN_IP: '10.0.0.4' })).toEqual({ listenIp: '10.0.0.4', pipeListenIp: '10.0.0.4' });
  });

  it('names the variable of every wrong value', () => {
    expect(said(() => mediaConfigFromEnv({ MEDIA_LISTEN_IP: 'example.com' }))).toBe(
      'configuration: MEDIA_LISTEN_IP: expected an IPv4 or IPv6 address (got "example.com")',
    );
    expect(said(() => mediaConfigFromEnv({ MEDIA_LOG_LEVEL: 'verbose' }))).toBe(
      'configuration: MEDIA_LOG_LEVEL: expected one of debug, warn, error, none (got "verbose")',
    );
    expect(said(() => mediaConfigFromEnv({ ROOM_MAX_PARTICIPANTS: '5000' }))).toBe(
      'configuration: ROOM_MAX_PARTICIPANTS: must be at most 500 (got "5000")',
    );
    expect(said(() => mediaConfigFromEnv({ MEDIA_RTC_MIN_PORT: '50000', MEDIA_RTC_MAX_PORT: '40000' }))).toBe(
      'configuration: MEDIA_RTC_MIN_PORT (50000) is above MEDIA_RTC_MAX_PORT (40000)',
    );
    expect(said(() => mediaConfigFromEnv({ MEDIA_WORKERS: '2', MEDIA_METRICS_PORT: '9464' }))).toBe('ok');
  });
});

describe('NATS connection options', () => {
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const nats = (env: Record<string, string>) => natsOptionsFromEnv({ NATS_URL: 'tls://nats:4222', ...env }, 'signaling');

  it('builds each kind of credential, and TLS from files', async () => {
    expect(natsOptionsFromEnv({}, 'signaling')).toBeUndefined();
    expect(nats({ NATS_USER: 'u', NATS_PASSWORD: 'p' })?.options).toMatchObject({
      user: 'u',
      pass: 'p',
      inboxPrefix: '_INBOX.signaling',
    });
    expect(nats({ NATS_TOKEN: 't' })?.options).toMatchObject({ token: 't' });

    const user = createUser();
    const seeded = nats({ NATS_NKEY_SEED: file('user.nk', new TextDecoder().decode(user.getSeed())) });
    const nkeyAuth = (seeded!.options.authenticator as Authenticator)('nonce-1') as { nkey: string; sig: string };
    expect(nkeyAuth.nkey).toBe(user.getPublicKey());
    expect(user.verify(new TextEncoder().encode('nonce-1'), base64url(nkeyAuth.sig))).toBe(true);

    // A .creds file as `nsc` writes it: the user JWT and the user's seed.
    const account = createAccount();
    const jwt = fakeUserJwt(account.getPublicKey(), user.getPublicKey());
    const creds = file('user.creds', credsFile(jwt, new TextDecoder().decode(user.getSeed())));
    const credsAuth = (nats({ NATS_CREDS: creds })!.options.authenticator as Authenticator)('nonce-2') as {
      jwt: string;
      nkey: string;
    };
    expect(credsAuth).toMatchObject({ jwt, nkey: user.getPublicKey() });

    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
    expect(nats({ NATS_TLS_CA: ca })?.options.tls).toEqual({ ca: fs.readFileSync(ca, 'utf8') });
  });

  it('refuses contradictory or unreadable settings with one line naming the variable', () => {
    expect(said(() => nats({ NATS_TOKEN: 't', NATS_USER: 'u', NATS_PASSWORD: 'p' }))).toBe(
      'configuration: set one NATS credential, not NATS_USER/NATS_PASSWORD and NATS_TOKEN',
    );
    expect(said(() => nats({ NATS_USER: 'u' }))).toBe('configuration: NATS_USER and NATS_PASSWORD go together');
    expect(said(() => nats({ NATS_CREDS: '/nope.creds' }))).toBe('configuration: NATS_CREDS: cannot read /nope.creds (ENOENT)');
    const ws = (env: Record<string, string>) => () => natsOptionsFromEnv({ NATS_URL: 'wss://nats:443', ...env }, 'signaling');
    expect(said(ws({ NATS_TLS_CERT: 'c.pem', NATS_TLS_KEY: 'k.pem' }))).toMatch(
      /^configuration: NATS_TLS_CERT: client certificates cannot be used over WebSocket/,
    );
    expect(said(ws({ NATS_TLS_CA: '/ca.pem' }))).toBe(
      "configuration: NATS_TLS_CA over WebSocket: also set DENO_CERT=/ca.pem (Deno's WebSocket trusts extra CAs only from there)",
    );
    expect(said(ws({ NATS_TLS_CA: '/ca.pem', DENO_CERT: '/ca.pem' }))).toBe('ok');
  });
});

function base64url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

/** Only its shape matters here: the authenticator sends it as it is and signs the nonce with the seed. */
function fakeUserJwt(issuer: string, subject: string): string {
  const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '');
  return `${part({ typ: 'JWT', alg: 'ed25519-nkey' })}.${part({ iss: issuer, sub: subject, nats: { type: 'user' } })}.c2ln`;
}

function credsFile(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
}
