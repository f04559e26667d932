import { describe, expect, it } from 'vitest';
import { LostNews } from '../../media-worker/cluster/lost-news.ts';
import type { RoomPart } from '../../protocol/media.ts';

describe('LostNews: other instances’ peers and producers whose events never arrived', () => {
  const camera = (peerId: string) => ({
    id: `${peerId}-cam`,
    peerId,
    kind: 'video' as const,
    source: 'camera' as const,
    paused: false,
  });
  const part = (...peerIds: string[]): RoomPart => ({
    instanceId: 'mw-seoul',
    peers: peerIds.map((id) => ({ id, displayName: id })),
    producers: peerIds.map(camera),
    activeSpeaker: null,
    updatedAt: 0,
  });
  const joined = (id: string) => ({ type: 'peerJoined' as const, roomId: 'r', peer: { id, displayName: id } });
  const published = (id: string) => ({ type: 'newProducer' as const, roomId: 'r', producer: camera(id) });

  it('lets what the parts listed when the room started here, and what was announced, pass', () => {
    const news = new LostNews([part('ada')]);
    expect(news.sweep([part('ada')])).toBe(false);
    news.hear(joined('bob'));
    news.hear(published('bob'));
    expect(news.sweep([part('ada', 'bob')])).toBe(false);
    expect(news.sweep([part('ada', 'bob')])).toBe(false);
  });

  it('waits one sweep for an event slower than the part’s copy', () => {
    const news = new LostNews([]);
    expect(news.sweep([part('bob')])).toBe(false);
    news.hear(joined('bob'));
    news.hear(published('bob'));
    expect(news.sweep([part('bob')])).toBe(false);
    expect(news.sweep([part('bob')])).toBe(false);
  });

  it('says once that a producer was never announced', () => {
    const news = new LostNews([]);
    news.hear(joined('gil'));
    expect(news.sweep([part('gil')])).toBe(false);
    expect(news.sweep([part('gil')])).toBe(true);
    expect(news.sweep([part('gil')])).toBe(false);
  });

  it('says so for a peer whose peerJoined never came', () => {
    const news = new LostNews([]);
    news.hear(published('gil'));
    news.sweep([part('gil')]);
    expect(news.sweep([part('gil')])).toBe(true);
  });

  it('forgets what closed, and news nobody listed after a minute', () => {
    const news = new LostNews([part('ada')]);
    news.sweep([]);
    news.sweep([part('ada')]);
    expect(news.sweep([part('ada')])).toBe(true); // closed, then listed again: ids are never reused, so it is new
    news.hear(joined('bob'), 0);
    news.hear(published('bob'), 0);
    news.sweep([], 61_000);
    news.sweep([part('bob')], 61_000);
    expect(news.sweep([part('bob')], 62_000)).toBe(true);
  });
});
