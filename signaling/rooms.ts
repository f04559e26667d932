import type { ClientNotification } from '../protocol/client.ts';
import type { RoomEvent } from '../protocol/media.ts';

/**
 * What one peer should be told about a room event, if anything. Room events fan out over the bus to
 * every signaling instance, so this filter is the whole of "rooms across instances".
 */
export function notificationFor(event: RoomEvent, selfPeerId: string): ClientNotification | null {
  switch (event.type) {
    case 'peerJoined':
      return event.peer.id === selfPeerId ? null : { notification: 'peerJoined', data: { peer: event.peer } };
    case 'peerLeft':
      return event.peerId === selfPeerId ? null : { notification: 'peerLeft', data: { peerId: event.peerId } };
    case 'newProducer':
      return event.producer.peerId === selfPeerId ? null : { notification: 'newProducer', data: { producer: event.producer } };
    case 'producerClosed':
      return event.peerId === selfPeerId
        ? null
        : { notification: 'producerClosed', data: { producerId: event.producerId, peerId: event.peerId } };
    case 'producerPaused':
    case 'producerResumed':
      return event.peerId === selfPeerId
        ? null
        : { notification: event.type, data: { producerId: event.producerId, peerId: event.peerId } };
    case 'activeSpeaker':
      return { notification: 'activeSpeaker', data: { peerId: event.peerId } };
    case 'audioLevels':
      return { notification: 'audioLevels', data: { levels: event.levels } };
    case 'peerReachability':
      return { notification: 'peerReachability', data: { peerIds: event.peerIds, reachable: event.reachable } };
    case 'mediaReset':
      return event.peerId !== selfPeerId ? null : { notification: 'mediaReset', data: { producers: event.producers } };
    case 'consumerClosed':
      return event.peerId !== selfPeerId
        ? null
        : { notification: 'consumerClosed', data: { consumerId: event.consumerId, producerId: event.producerId } };
    case 'remedy':
      return event.peerId !== selfPeerId ? null : { notification: 'remedy', data: event.remedy };
    case 'publisherLayers':
      return event.peerId !== selfPeerId ? null : { notification: 'publisherLayers', data: event.layers };
    case 'consumerNotice':
      return event.peerId !== selfPeerId ? null : { notification: 'consumerNotice', data: event.notice };
    case 'producerVerdict':
    case 'newsLost':
      return null;
  }
}
