import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../bus/memory.ts';
import { RoomEvent } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import { RoomSubscriptions } from '../../signaling/room-subscriptions.ts';

const left = (peerId: string): RoomEvent => ({ type: 'peerLeft', roomId: 'r', peerId });

describe('one subscription per room, shared by its members here', () => {
  it('hands each event to every member once; the last member to go ends the subscription', async () => {
    const bus = new MemoryBus();
    let subscribed = 0;
    const subscribe = bus.subscribe.bind(bus);
    bus.subscribe = (subject, handler) => {
      if (subject === subjects.roomEvents('r')) subscribed++;
      return subscribe(subject, handler);
    };
    const rooms = new RoomSubscriptions(bus, subjects.roomEvents, (data) => RoomEvent.safeParse(data).data);
    const heard: string[] = [];
    const a = rooms.listen('r', (e) => heard.push(`a ${e.type}`));
    const b = rooms.listen('r', () => {
      throw new Error('a member whose handler fails does not stop the others');
    });
    const c = rooms.listen('r', (e) => heard.push(`c ${e.type}`));
    await Promise.all([a.ready, b.ready, c.ready]);
    expect(subscribed).toBe(1);

    bus.publish(subjects.roomEvents('r'), left('p1'));
    bus.publish(subjects.roomEvents('r'), { type: 'not an event' });
    await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual(['a peerLeft', 'c peerLeft']);

    a.subscription.unsubscribe();
    b.subscription.unsubscribe();
    bus.publish(subjects.roomEvents('r'), left('p2'));
    await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual(['a peerLeft', 'c peerLeft', 'c peerLeft']);

    c.subscription.unsubscribe();
    c.subscription.unsubscribe();
    const d = rooms.listen('r', (e) => heard.push(`d ${e.type}`));
    await d.ready;
    expect(subscribed).toBe(2);
    bus.publish(subjects.roomEvents('r'), left('p3'));
    await new Promise((r) => setTimeout(r, 10));
    expect(heard.slice(3)).toEqual(['d peerLeft']);
  });
});
