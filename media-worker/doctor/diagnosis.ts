import type { RoomDiagnosis } from '../../protocol/telemetry.ts';
import type { Doctor } from './doctor.ts';
import { producerInfo } from '../sfu/peer.ts';
import type { Peer } from '../sfu/peer.ts';

type PeerDiagnosis = RoomDiagnosis['peers'][number];

/** One peer of this instance as the dashboard shows it: transports, producers, and the doctor's consumers. */
export async function diagnosePeer(peer: Peer, doctor: Doctor): Promise<PeerDiagnosis> {
  return {
    id: peer.id,
    displayName: peer.displayName,
    transports: [...peer.transports.values()].map((t) =>
      t.type === 'webrtc'
        ? {
            id: t.id,
            direction: (t.appData as { direction: 'send' | 'recv' }).direction,
            iceState: t.iceState,
            dtlsState: t.dtlsState,
          }
        : { id: t.id, direction: 'plain' as const, iceState: 'none', dtlsState: 'none' },
    ),
    // Asked live: the doctor samples only producers someone here consumes.
    producers: await Promise.all(
      [...peer.producers.values()].map(async (p) => {
        const { id, kind, source, paused } = producerInfo(p);
        const stats = await p.getStats().catch(() => []);
        const packetCount = stats.reduce((sum, s) => sum + s.packetCount, 0);
        return { id, kind, source, paused, score: Math.max(0, ...p.score.map((s) => s.score)), packetCount };
      }),
    ),
    consumers: doctor.health(peer.id),
    publishing: doctor.publishing(peer.id),
  };
}
