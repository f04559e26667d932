import type { types } from 'mediasoup';
import type { RoomEvent } from '../../protocol/media.ts';
import type { ProducerData } from './peer.ts';

/** Who is speaking: mediasoup's observers on the room's router, turned into room events. */
export class Speakers {
  private constructor(
    private active: types.ActiveSpeakerObserver,
    private levels: types.AudioLevelObserver,
  ) {}

  static async observe(router: types.Router, roomId: string, publish: (event: RoomEvent) => void): Promise<Speakers> {
    const active = await router.createActiveSpeakerObserver({ interval: 300 });
    const levels = await router.createAudioLevelObserver({ maxEntries: 10, threshold: -70, interval: 800 });
    const peerOf = (producer: types.Producer) => (producer.appData as ProducerData).peerId;
    active.on('dominantspeaker', ({ producer }) => publish({ type: 'activeSpeaker', roomId, peerId: peerOf(producer) }));
    levels.on('volumes', (volumes) =>
      publish({ type: 'audioLevels', roomId, levels: volumes.map((v) => ({ peerId: peerOf(v.producer), volume: v.volume })) }),
    );
    levels.on('silence', () => publish({ type: 'audioLevels', roomId, levels: [] }));
    return new Speakers(active, levels);
  }

  async add(producer: types.Producer<ProducerData>): Promise<void> {
    if (producer.kind !== 'audio' || producer.appData.source !== 'microphone') return;
    await Promise.all([
      this.active.addProducer({ producerId: producer.id }),
      this.levels.addProducer({ producerId: producer.id }),
    ]);
  }
}
