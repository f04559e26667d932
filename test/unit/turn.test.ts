import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeStartupFailure, StartupError } from '../../config/startup.ts';
import { clientMethods } from '../../protocol/client.ts';
import { signalingConfigFromEnv } from '../../signaling/config.ts';
import { turnCredential } from '../../signaling/turn.ts';

const config = { urls: ['turn:turn.example.com:3478?transport=udp'], secret: 'turn-shared-secret-0123', ttlS: 3600 };

describe('TURN credentials (REST shared-secret scheme)', () => {
  it('matches a vector computed by openssl', async () => {
    // printf '%s' '1700003600:id-ada' | openssl dgst -sha1 -hmac 'turn-shared-secret-0123' -binary | base64
    const server = await turnCredential(config, 'id-ada', 1_700_000_000);
    expect(server).toEqual({ urls: config.urls, username: '1700003600:id-ada', credential: 'ERDWx07GMw/04bnWqyqpqRqw2mI=' });
  });

  it('is per identity and expires after the TTL; odd identities stay a well-formed username', async () => {
    const now = Math.floor(Date.now() / 1000);
    const server = await turnCredential(config, 'user:with spaces/ünïcode', now);
    expect(server.username).toBe(`${now + 3600}:user_with_spaces__n_code`);
    const expected = createHmac('sha1', config.secret).update(server.username).digest('base64');
    expect(server.credential).toBe(expected);
    expect((await turnCredential(config, 'x'.repeat(1000), now)).username.length).toBeLessThanOrEqual(140);
    expect((await turnCredential(config, 'id-bob', now)).credential).not.toBe(
      (await turnCredential(config, 'id-ada', now)).credential,
    );
    // The join response's schema accepts what is issued.
    const snapshot = clientMethods.join.response.shape.iceServers;
    expect(snapshot.parse([server])).toEqual([server]);
  });
});

describe('TURN configuration', () => {
  const base = { PARLEY_SECRET: 'a-secret-of-at-least-16' };
  const said = (env: Record<string, string>) => {
    try {
      return signalingConfigFromEnv({ ...base, ...env }).turn;
    } catch (err) {
      expect(err).toBeInstanceOf(StartupError);
      return describeStartupFailure(err);
    }
  };

  it('is off unless TURN_URLS is set, and then needs a long enough secret', () => {
    expect(said({})).toBeUndefined();
    expect(said({ TURN_SECRET: 'turn-shared-secret-0123' })).toBe(
      'configuration: TURN_SECRET is set but TURN_URLS is not: set both or neither',
    );
    expect(said({ TURN_URLS: 'turn:127.0.0.1:3478' })).toMatch(/TURN_SECRET must be set to at least 16/);
    expect(said({ TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'short' })).toMatch(/TURN_SECRET must be set to at least 16/);
    expect(said({ TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'short' })).not.toMatch(/short/);
  });

  it('validates every URL and reads the TTL', () => {
    const secret = { TURN_SECRET: 'turn-shared-secret-0123' };
    expect(
      said({ ...secret, TURN_URLS: 'turn:a.example.com:3478?transport=udp, turns:a.example.com:443?transport=tcp' }),
    ).toEqual({
      urls: ['turn:a.example.com:3478?transport=udp', 'turns:a.example.com:443?transport=tcp'],
      secret: 'turn-shared-secret-0123',
      ttlS: 3600,
    });
    expect(said({ ...secret, TURN_URLS: 'turn:[::1]:3478', TURN_TTL_S: '600' })).toMatchObject({ ttlS: 600 });
    for (const wrong of ['stun:a.example.com', 'https://a.example.com', 'turn:a.example.com?transport=sctp', 'turn:a b']) {
      expect(said({ ...secret, TURN_URLS: wrong })).toMatch(/TURN_URLS: .* is not a TURN URL/);
    }
    expect(said({ ...secret, TURN_URLS: 'turn:a.example.com', TURN_TTL_S: '5' })).toBe(
      'configuration: TURN_TTL_S: must be at least 60 (got "5")',
    );
  });
});
