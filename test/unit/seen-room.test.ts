import { describe, expect, it } from 'vitest';
import { SeenRoom } from '../../signaling/memberships/seen-room.ts';

describe('SeenRoom: what a client missed while room events were lost', () => {
  const peer = (id: string) => ({ id, displayName: id.toUpperCase() });
  const camera = (id: string, peerId: string, paused = false) => ({
    id,
    peerId,
    kind: 'video' as const,
    source: 'camera' as const,
    paused,
  });
  const start = 1_000_000;
  const later = start + 10_000;

  it('replays joins, new producers, pauses, closes and leaves the client never got, nothing it already has', () => {
    const seen = new SeenRoom('r', 'ada');
    seen.reset({ peers: [peer('bob'), peer('dan')], producers: [camera('bob-cam', 'bob'), camera('dan-cam', 'dan')] }, start);
    const now = {
      peers: [peer('ada'), peer('bob'), peer('cara')],
      producers: [camera('bob-cam', 'bob', true), camera('cara-cam', 'cara')],
    };
    expect(seen.missed(now, later)).toEqual([
      { type: 'producerClosed', roomId: 'r', producerId: 'dan-cam', peerId: 'dan' },
      { type: 'peerLeft', roomId: 'r', peerId: 'dan' },
      { type: 'peerJoined', roomId: 'r', peer: peer('cara') },
      { type: 'producerPaused', roomId: 'r', producerId: 'bob-cam', peerId: 'bob' },
      { type: 'newProducer', roomId: 'r', producer: camera('cara-cam', 'cara') },
    ]);
    for (const event of seen.missed(now, later)) seen.apply(event, later);
    expect(seen.missed(now, later + 10_000)).toEqual([]);
  });

  it('follows the events the client was sent', () => {
    const seen = new SeenRoom('r', 'ada');
    seen.reset({ peers: [], producers: [] }, start);
    seen.apply({ type: 'peerJoined', roomId: 'r', peer: peer('bob') }, start);
    seen.apply({ type: 'newProducer', roomId: 'r', producer: camera('bob-cam', 'bob') }, start);
    seen.apply({ type: 'producerPaused', roomId: 'r', producerId: 'bob-cam', peerId: 'bob' }, start);
    expect(seen.missed({ peers: [peer('bob')], producers: [camera('bob-cam', 'bob', true)] }, later)).toEqual([]);
    seen.apply({ type: 'peerLeft', roomId: 'r', peerId: 'bob' }, start);
    expect(seen.missed({ peers: [], producers: [] }, later)).toEqual([]);
  });

  it('does not take back what it learned just now: other instances reach a snapshot through KV, later', () => {
    const seen = new SeenRoom('r', 'ada');
    seen.reset({ peers: [], producers: [] }, start);
    seen.apply({ type: 'peerJoined', roomId: 'r', peer: peer('eve') }, later);
    seen.apply({ type: 'newProducer', roomId: 'r', producer: camera('eve-cam', 'eve') }, later);
    expect(seen.missed({ peers: [], producers: [] }, later + 500)).toEqual([]);
    expect(seen.missed({ peers: [], producers: [] }, later + 5000).map((e) => e.type)).toEqual(['producerClosed', 'peerLeft']);
  });

  it('does not take a peer behind a cut link for gone: a snapshot cannot list it until the link is back', () => {
    const seen = new SeenRoom('r', 'ada');
    seen.reset({ peers: [peer('bob'), peer('eve')], producers: [camera('bob-cam', 'bob'), camera('eve-cam', 'eve')] }, start);
    seen.apply({ type: 'peerReachability', roomId: 'r', peerIds: ['eve'], reachable: false }, start);
    const withoutEve = { peers: [peer('bob')], producers: [camera('bob-cam', 'bob')] };
    expect(seen.missed(withoutEve, later)).toEqual([]);
    seen.apply({ type: 'peerReachability', roomId: 'r', peerIds: ['eve'], reachable: true }, later);
    expect(seen.missed(withoutEve, later).map((e) => e.type)).toEqual(['producerClosed', 'peerLeft']);
  });

  it('takes the peers a join or resume reply lists as unreachable for unreachable: their producers wait, nobody left', () => {
    const seen = new SeenRoom('r', 'ada');
    seen.reset({ peers: [peer('bob'), peer('eve')], producers: [camera('bob-cam', 'bob')], unreachable: ['eve'] }, start);
    expect(seen.missed({ peers: [peer('bob')], producers: [camera('bob-cam', 'bob')] }, later)).toEqual([]);
    // The link is back: her producers come with the next snapshot.
    seen.apply({ type: 'peerReachability', roomId: 'r', peerIds: ['eve'], reachable: true }, later);
    const back = { peers: [peer('bob'), peer('eve')], producers: [camera('bob-cam', 'bob'), camera('eve-cam', 'eve')] };
    expect(seen.missed(back, later)).toEqual([{ type: 'newProducer', roomId: 'r', producer: camera('eve-cam', 'eve') }]);
    // A snapshot that lists her as unreachable again (the link cut anew; its event not here yet): nothing closed.
    const cutAgain = { peers: [peer('bob'), peer('eve')], producers: [camera('bob-cam', 'bob')], unreachable: ['eve'] };
    seen.apply({ type: 'newProducer', roomId: 'r', producer: camera('eve-cam', 'eve') }, later);
    expect(seen.missed(cutAgain, later + 10_000)).toEqual([]);
    // A later reply that lists nobody as unreachable means what it says.
    seen.reset({ peers: [peer('bob')], producers: [] }, later);
    expect(seen.missed({ peers: [], producers: [] }, later + 10_000).map((e) => e.type)).toEqual(['peerLeft']);
  });

  it('says when a change came while the join or resume reply was being made: the reply may predate it', () => {
    const seen = new SeenRoom('r', 'ada');
    expect(seen.reset({ peers: [peer('bob')], producers: [] }, start)).toBe(false);
    seen.apply({ type: 'activeSpeaker', roomId: 'r', peerId: 'bob' }, start);
    expect(seen.reset({ peers: [peer('bob')], producers: [] }, start)).toBe(false);
    seen.apply({ type: 'peerJoined', roomId: 'r', peer: peer('dan') }, start);
    expect(seen.reset({ peers: [peer('bob')], producers: [] }, start)).toBe(true);
    expect(seen.missed({ peers: [peer('bob'), peer('dan')], producers: [] }, later)).toEqual([
      { type: 'peerJoined', roomId: 'r', peer: peer('dan') },
    ]);
  });
});
