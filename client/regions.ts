import { httpPaths, RegionResponse, RegionsResponse } from '../protocol/http.ts';

/** One region's endpoint and the best round trip seen to it (Infinity: it never answered). */
export interface RegionTiming {
  region: string;
  url: string;
  rttMs: number;
}

export interface TimeRegionsOptions {
  /** Round trips per region; the fastest counts (the first one also sets up the connection). Default 3. */
  probes?: number;
  /** How long one probe may take before its region counts as unreachable. Default 2000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Times every region the server lists (GET /api/regions, from its PARLEY_REGION_URLS) and returns them fastest
 * first. Set `client.media.region` to the first one's region before joining, so our media is placed where we
 * reach it fastest. The regions are probed one after another: in parallel they would share (and skew) our uplink.
 */
export async function timeRegions(server: string, options: TimeRegionsOptions = {}): Promise<RegionTiming[]> {
  const get = options.fetch ?? fetch;
  const base = server.replace(/^ws/, 'http');
  const listed = RegionsResponse.parse(await (await get(new URL(httpPaths.regions, base))).json());
  const timings: RegionTiming[] = [];
  for (const { region, url } of listed.regions) {
    timings.push({ region, url, rttMs: await bestRoundTrip(get, new URL(httpPaths.region, url), region, options) });
  }
  return timings.sort((a, b) => a.rttMs - b.rttMs);
}

async function bestRoundTrip(get: typeof fetch, url: URL, region: string, options: TimeRegionsOptions): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < (options.probes ?? 3); i++) {
    const started = performance.now();
    try {
      const res = await get(url, { cache: 'no-store', signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
      // An endpoint that answers for another region is misconfigured: timing it would send us to the wrong place.
      if (RegionResponse.parse(await res.json()).region !== region) return Infinity;
    } catch {
      return Infinity;
    }
    best = Math.min(best, performance.now() - started);
  }
  return best;
}
