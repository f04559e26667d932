import { startDistributed, startEmbedded, token, wsUrl } from '../harness/cluster.ts';
import type { Cluster } from '../harness/cluster.ts';
import { TestClient } from '../harness/ws-client.ts';
import { percentiles, ratio } from './lib/stats.ts';
import { MAX_TRANSPORTS_PER_PEER } from '../protocol/limits.ts';
import { BENCH_ENV } from './lib/targets.ts';

/**
 * Request round trip through signaling to the media worker: the in-process bus (embedded default) against
 * NATS (separate processes), measured in one run so the ratio holds on a noisy machine.
 * `npx tsx bench/request-latency.ts [requests]`
 */
export interface LatencyRow {
  op: string;
  inProcess: ReturnType<typeof percentiles>;
  nats: ReturnType<typeof percentiles>;
  ratioP50: number;
  ratioP99: number;
}

const WARM_UP = 50;

async function measure(n: number, start: () => Promise<Cluster>) {
  const cluster = await start();
  try {
    const client = await TestClient.open(wsUrl(cluster.signaling[0]!, await token('Bench')));
    await client.request('join', { room: 'bench' });
    const rows: Record<string, number[]> = { connectTransport: [], createTransport: [] };
    for (let i = 0; i < n + WARM_UP; i++) {
      // connectTransport on an unknown id: the whole path (validate, bus, worker lookup) with no media work.
      const t0 = performance.now();
      const probe = await client.request('connectTransport', {
        transportId: 'none',
        dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'x' }] },
      });
      const t1 = performance.now();
      if (probe.ok || probe.error.code !== 'NOT_FOUND') throw new Error(`unexpected reply ${JSON.stringify(probe)}`);
      if (i % 5 === 0) {
        const created = await client.request('createTransport', { direction: 'recv' });
        if (!created.ok) throw new Error(`createTransport failed: ${JSON.stringify(created)}`);
      }
      const t2 = performance.now();
      // A peer holds at most MAX_TRANSPORTS_PER_PEER: a fresh membership (untimed) before it is full.
      if (i % 5 === 0 && (i / 5 + 1) % MAX_TRANSPORTS_PER_PEER === 0) {
        await client.request('leave');
        await client.request('join', { room: 'bench' });
      }
      if (i < WARM_UP) continue;
      rows.connectTransport!.push(t1 - t0);
      if (i % 5 === 0) rows.createTransport!.push(t2 - t1);
    }
    client.close();
    return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, percentiles(v)]));
  } finally {
    await cluster.stop();
  }
}

export async function measureRequestLatency({ requests = 500 } = {}): Promise<LatencyRow[]> {
  const embedded = await measure(requests, () => startEmbedded({ env: BENCH_ENV }));
  const nats = await measure(requests, () => startDistributed({ env: BENCH_ENV }));
  return Object.keys(embedded).map((op) => {
    const [e, d] = [embedded[op]!, nats[op]!];
    return { op, inProcess: e, nats: d, ratioP50: ratio(d.p50, e.p50), ratioP99: ratio(d.p99, e.p99) };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { op, inProcess: e, nats: d, ratioP50 } of await measureRequestLatency({
    requests: Number(process.argv[2] ?? 500),
  })) {
    console.log(
      `${op.padEnd(17)} in-process p50 ${e.p50} ms p99 ${e.p99} ms | NATS p50 ${d.p50} ms p99 ${d.p99} ms | ratio p50 ${ratioP50} (n=${d.n})`,
    );
  }
}
