import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';

describe('HTTPS with a generated, cached self-signed certificate', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startEmbedded({ https: true });
  });
  afterAll(() => cluster?.stop());

  it('serves the app and signaling over TLS for localhost', async () => {
    const base = cluster.signaling[0]!;
    expect(base).toMatch(/^https:/);
    const { status, subjectAltName } = await new Promise<{ status?: number; subjectAltName?: string }>((resolve, reject) => {
      https
        .get(`${base}/healthz`, { rejectUnauthorized: false }, (res) => {
          const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
          res.resume();
          resolve({ status: res.statusCode, subjectAltName: cert.subjectaltname });
        })
        .on('error', reject);
    });
    expect(status).toBe(200);
    expect(subjectAltName).toContain('DNS:localhost');
    const client = await TestClient.open(wsUrl(base, await token('Tess')), { rejectUnauthorized: false });
    expect(await client.request('join', { room: 'tls' })).toMatchObject({ ok: true });
    client.close();
  });
});
