/** Runs a function in a page: Playwright's and puppeteer's `page.evaluate` both fit. */
export type PageRun = <T>(fn: () => T | Promise<T>) => Promise<T>;

export interface PeerMedia {
  videoFrames: number;
  videoPackets: number;
  audioPackets: number;
  screenFrames: number;
}

/** What the page receives from each remote peer (by peer id), summed over that peer's consumers. */
export function mediaByPeer(run: PageRun): Promise<Record<string, PeerMedia>> {
  return run(async () => {
    const rows = (await window.parley?.call?.inboundStats()) ?? [];
    const out: Record<string, PeerMedia> = {};
    for (const row of rows) {
      if (!row.peerId) continue;
      const peer = (out[row.peerId] ??= { videoFrames: 0, videoPackets: 0, audioPackets: 0, screenFrames: 0 });
      if (row.source === 'camera') {
        peer.videoFrames += row.framesDecoded ?? 0;
        peer.videoPackets += row.packetsReceived;
      }
      if (row.source === 'screen') peer.screenFrames += row.framesDecoded ?? 0;
      if (row.source === 'microphone') peer.audioPackets += row.packetsReceived;
    }
    return out;
  });
}

/**
 * Waits (bounded) until the page decodes video and receives audio from `peers` remote peers, then checks
 * both keep increasing over one more second, i.e. media is flowing, not just was.
 */
export async function expectMediaFlowing(run: PageRun, peers: number, label: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ok = (m: PeerMedia) => m.videoFrames > 0 && m.audioPackets > 0;
  let first: Record<string, PeerMedia> = {};
  for (;;) {
    first = await mediaByPeer(run);
    if (Object.values(first).filter(ok).length >= peers) break;
    if (Date.now() > deadline) throw new Error(`${label}: media from ${peers} peers expected, got ${JSON.stringify(first)}`);
    await sleep(250);
  }
  await waitUntil(
    `${label}: media keeps flowing`,
    async () => {
      const now = await mediaByPeer(run);
      return Object.entries(first).every(
        ([id, m]) => !ok(m) || (now[id]!.videoFrames > m.videoFrames && now[id]!.audioPackets > m.audioPackets),
      );
    },
    5000,
  );
}

/** Polls `check` every 200 ms until it is true or `timeoutMs` passes (then throws with `what`). */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
