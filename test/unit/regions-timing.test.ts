import { describe, expect, it } from 'vitest';
import { timeRegions } from '../../client/regions.ts';

/** A fetch that answers each host after its delay, as the region it is configured to say. */
function fakeFetch(hosts: Record<string, { delayMs: number; says?: string; fails?: boolean }>): typeof fetch {
  const regions = Object.entries(hosts).map(([region]) => ({ region, url: `http://${region}.example` }));
  return (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    if (url.pathname === '/api/regions') return Response.json({ region: 'here', regions });
    const host = hosts[url.hostname.replace('.example', '')]!;
    await new Promise((r) => setTimeout(r, host.delayMs));
    if (host.fails) throw new TypeError('network error');
    return Response.json({ region: host.says ?? url.hostname.replace('.example', '') });
  }) as typeof fetch;
}

describe('timing the regions', () => {
  it('orders them fastest first; one that fails or answers as another region counts as unreachable', async () => {
    const timings = await timeRegions('ws://here.example', {
      probes: 2,
      fetch: fakeFetch({
        far: { delayMs: 60 },
        near: { delayMs: 5 },
        down: { delayMs: 1, fails: true },
        liar: { delayMs: 1, says: 'near' },
      }),
    });
    expect(timings.map((t) => t.region)).toEqual(['near', 'far', 'down', 'liar']);
    expect(timings[0]!.rttMs).toBeLessThan(timings[1]!.rttMs);
    expect(timings.slice(2).map((t) => t.rttMs)).toEqual([Infinity, Infinity]);
  });

  it('gives nothing to choose from when the server lists no regions', async () => {
    expect(await timeRegions('http://here.example', { fetch: fakeFetch({}) })).toEqual([]);
  });
});
