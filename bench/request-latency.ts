import { startDistributed, startEmbedded, token, wsUrl } from '../test/helpers/cluster.ts';
import type { Cluster } from '../test/helpers/cluster.ts';
import { TestClient } from '../test/helpers/ws-client.ts';

/**
 * Request round trip through signaling to the media worker: the in-process bus (embedded default) against
 * NATS (separate processes), measured in one run so the ratio holds on a noisy machine.
 * `npx tsx bench/request-latency.ts [requests]`
 */
const N = Number(process.argv[2] ?? 500);
// The per-connection rate limit would answer most of these with RATE_LIMITED, fast and meaningless.
const env = { RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' };

async function measure(name: string, start: () => Promise<Cluster>) {
  const cluster = await start();
  try {
    const client = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Bench')));
    await client.request('join', { room: 'bench' });
    const rows: Record<string, number[]> = { connectTransport: [], createTransport: [] };
    for (let i = 0; i < N + 50; i++) {
      // connectTransport on an unknown id: the whole path (validate, bus, worker lookup) with no media work.
      const t0 = performance.now();
      const probe = await client.request('connectTransport', { transportId: 'none', dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'x' }] } });
      const t1 = performance.now();
      if (probe.ok || probe.error.code !== 'NOT_FOUND') throw new Error(`unexpected reply ${JSON.stringify(probe)}`);
      if (i % 5 === 0) {
        const created = await client.request('createTransport', { direction: 'recv' });
        if (!created.ok) throw new Error(`createTransport failed: ${JSON.stringify(created)}`);
      }
      const t2 = performance.now();
      if (i < 50) continue; // warm-up
      rows.connectTransport!.push(t1 - t0);
      if (i % 5 === 0) rows.createTransport!.push(t2 - t1);
    }
    client.close();
    return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, percentiles(v)]));
  } finally {
    await cluster.stop();
  }
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { p50: round(at(0.5)), p99: round(at(0.99)), n: sorted.length };
}

const round = (n: number) => Math.round(n * 100) / 100;

const embedded = await measure('embedded', () => startEmbedded({ env }));
const nats = await measure('nats', () => startDistributed({ env }));
for (const op of Object.keys(embedded)) {
  const [e, d] = [embedded[op]!, nats[op]!];
  console.log(`${op.padEnd(17)} in-process p50 ${e.p50} ms p99 ${e.p99} ms | NATS p50 ${d.p50} ms p99 ${d.p99} ms | ratio p50 ${round(d.p50 / e.p50)} (n=${d.n})`);
}
