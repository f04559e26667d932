import { z } from 'zod';

/**
 * Where a process runs (PARLEY_REGION): media lands on a media-worker of the region of the signaling instance a
 * participant reached, and a room with participants in several regions has a part in each. The name is part of
 * KV keys and metric labels, so it is a subject token.
 */
export const Region = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 letters, digits, - or _');
export type Region = z.infer<typeof Region>;

/** A deployment that never names its regions is one region of this name. */
export const DEFAULT_REGION = 'default';

/**
 * A region's public base URL, for clients to measure which region they reach fastest: they probe
 * `<url>/api/region` there and ask to have their media placed in the fastest one (`join.region`).
 */
export const RegionEndpoint = z.object({ region: Region, url: z.url({ protocol: /^https?$/ }) });
export type RegionEndpoint = z.infer<typeof RegionEndpoint>;
