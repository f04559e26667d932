import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyWebhookSignature, WEBHOOK_TOLERANCE_S } from '../../protocol/webhooks.ts';
import { receiveWebhook } from '../../server-sdk/index.ts';
import { communityConfigFromEnv } from '../../signaling/community-config.ts';

const SECRET = 'a-webhook-secret-of-at-least-32-characters';
const body = JSON.stringify({
  id: 'room_started.RM_1',
  event: 'room_started',
  createdAt: 1,
  room: { roomId: 'lounge', sid: 'RM_1' },
});

describe('webhook signatures (HMAC-SHA256 of "<t>.<body>")', () => {
  const now = 1_700_000_000;

  it('accepts its own signature within the tolerance, and nothing changed', async () => {
    const header = await signatureHeader(SECRET, now, body);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhookSignature(SECRET, header, body, now)).toBe(true);
    expect(await verifyWebhookSignature(SECRET, header, body, now + WEBHOOK_TOLERANCE_S)).toBe(true);
  });

  it('refuses a changed body, another secret, a replay, a forged timestamp and malformed headers', async () => {
    const header = await signatureHeader(SECRET, now, body);
    expect(await verifyWebhookSignature(SECRET, header, body.replace('lounge', 'lobby'), now)).toBe(false);
    expect(await verifyWebhookSignature(`${SECRET}x`, header, body, now)).toBe(false);
    expect(await verifyWebhookSignature(SECRET, header, body, now + WEBHOOK_TOLERANCE_S + 1)).toBe(false);
    expect(await verifyWebhookSignature(SECRET, header.replace(`t=${now}`, `t=${now + 60}`), body, now + 60)).toBe(false);
    for (const bad of [undefined, '', 'v1=abc', `t=${now}`, `t=abc,v1=${'0'.repeat(64)}`, `t=${now},v1=${'0'.repeat(64)}`]) {
      expect(await verifyWebhookSignature(SECRET, bad, body, now), String(bad)).toBe(false);
    }
  });

  it('the server SDK hands over the event only when the signature holds', async () => {
    const t = Math.floor(Date.now() / 1000);
    const event = await receiveWebhook(SECRET, body, await signatureHeader(SECRET, t, body));
    expect(event).toMatchObject({ event: 'room_started', room: { roomId: 'lounge' } });
    await expect(receiveWebhook(SECRET, body, await signatureHeader(SECRET, t - 3600, body))).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });
});

describe('community configuration from the environment', () => {
  const from = (env: Record<string, string>) => communityConfigFromEnv(env);

  it('has safe defaults: no webhooks, no API keys, chat limits on', () => {
    const config = from({});
    expect(config.webhooks.urls).toEqual([]);
    expect(config.apiKeys).toEqual([]);
    expect(config.chat).toMatchObject({ historyMessages: 200, ratePerSecond: 1, rateBurst: 5 });
    expect(config.webhooks.events).toContain('chat_message');
  });

  it('names every bad variable at once', () => {
    const bad = { PARLEY_API_KEYS: 'short', WEBHOOK_URLS: 'ftp://x', WEBHOOK_EVENTS: 'room_started,nope', CHAT_RATE_BURST: '0' };
    const message = (() => {
      try {
        from(bad);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of Object.keys(bad)) expect(message).toContain(name);
  });

  it('refuses webhooks without a secret, and a delivery timeout longer than the ack wait', () => {
    expect(() => from({ WEBHOOK_URLS: 'https://example.com/hooks' })).toThrow(/WEBHOOK_SECRET/);
    expect(() =>
      from({
        WEBHOOK_URLS: 'https://example.com/hooks',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_TIMEOUT_MS: '5000',
        WEBHOOK_ACK_WAIT_MS: '1000',
      }),
    ).toThrow(/WEBHOOK_TIMEOUT_MS/);
    const ok = from({ WEBHOOK_URLS: 'https://example.com/hooks', WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'chat_message' });
    expect(ok.webhooks.events).toEqual(['chat_message']);
  });
});
