import { describe, expect, it } from 'vitest';
import { subjectMatches } from '../../bus/subject.ts';
import { notificationFor } from '../../signaling/rooms.ts';

describe('room event fan-out', () => {
  const producer = { id: 'pr1', peerId: 'alice', kind: 'video' as const, source: 'camera' as const, paused: false };

  it('tells others about a peer and its producers, but not the peer itself', () => {
    const joined = { type: 'peerJoined' as const, roomId: 'r', peer: { id: 'alice', displayName: 'Alice' } };
    expect(notificationFor(joined, 'alice')).toBeNull();
    expect(notificationFor(joined, 'bob')).toEqual({ notification: 'peerJoined', data: { peer: joined.peer } });
    expect(notificationFor({ type: 'newProducer', roomId: 'r', producer }, 'alice')).toBeNull();
    expect(notificationFor({ type: 'newProducer', roomId: 'r', producer }, 'bob')?.notification).toBe('newProducer');
  });

  it('delivers consumerClosed only to the consumer’s owner', () => {
    const event = { type: 'consumerClosed' as const, roomId: 'r', peerId: 'bob', consumerId: 'c1', producerId: 'pr1' };
    expect(notificationFor(event, 'alice')).toBeNull();
    expect(notificationFor(event, 'bob')).toEqual({
      notification: 'consumerClosed',
      data: { consumerId: 'c1', producerId: 'pr1' },
    });
  });
});

describe('subject matching', () => {
  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b', 'a.b', true],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});
