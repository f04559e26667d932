import { RtpPeer } from '../bench/rtp/peer.ts';
import { loadTestToken } from './cluster.ts';

/** Three VP8 simulcast layers of the plain-RTP tester, as a camera sends them. */
export const TEST_LAYERS = [
  { bitsPerSecond: 150_000, fps: 30 },
  { bitsPerSecond: 500_000, fps: 30 },
  { bitsPerSecond: 1_200_000, fps: 30 },
];

/** mediasoup's RtpStreamRecv InactivityCheckIntervalMs: a simulcast layer silent this long scores 0. */
export const MEDIASOUP_INACTIVITY_MS = 1_500;

/**
 * Plain-RTP testers (bench/rtp) for a test: each joins `room` with a load-test token, and one 5 ms clock paces
 * every tester's streams. Call in beforeAll, once the deployment is up; `close` in afterAll.
 */
export function rtpTesters(base: string, room: string) {
  const peers: RtpPeer[] = [];
  const clock = setInterval(() => {
    const now = performance.now();
    for (const p of peers) p.tick(now);
  }, 5);
  return {
    async join(name: string): Promise<RtpPeer> {
      const peer = await RtpPeer.join(base, room, await loadTestToken(name));
      peers.push(peer);
      return peer;
    },
    close(): void {
      clearInterval(clock);
      for (const p of peers) p.close();
    },
  };
}
