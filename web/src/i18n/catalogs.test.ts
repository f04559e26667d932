import { describe, expect, it } from 'vitest';
import { unreadCount } from '../../../client/chat.ts';
import { en } from './en.ts';
import { ko } from './ko.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogs', () => {
  it('Korean has every English message, with the same placeholders', () => {
    expect(Object.keys(ko).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      expect(placeholders(ko[key as keyof typeof en]), key).toEqual(placeholders(text));
    }
  });

  it('Korean is written in Korean, not left in English or as keys', () => {
    // Only messages that are nothing but placeholders may lack Hangul.
    for (const [key, text] of Object.entries(ko)) {
      if (text.replace(/\{\w+\}/g, '').trim() === '') continue;
      expect(text, key).toMatch(/[\uac00-\ud7a3]/);
      expect(text, key).not.toBe(en[key as keyof typeof en]);
      expect(text, key).not.toContain(key);
    }
  });

  it('Korean UI sentences are polite 해요체, not the formal or plain style', () => {
    for (const [key, text] of Object.entries(ko)) {
      expect(text, key).not.toMatch(/(습니다|니다\.|한다\.|했다\.|이다\.)/);
    }
  });
});

describe('unread counts on a lobby room card', () => {
  const room = (count: number, epoch = 1) => ({ roomId: 'r', participants: [], chat: { count, epoch, lastAt: 2 } });
  it('counts what came since we were last in the room, and everything of a room never visited', () => {
    expect(unreadCount(room(7), { count: 4, epoch: 1, lastAt: 1 })).toBe(3);
    expect(unreadCount(room(7), undefined)).toBe(7);
    expect(unreadCount({ roomId: 'r', participants: [] }, undefined)).toBe(0);
    // The room's history expired and started again: what we read belonged to the old one.
    expect(unreadCount(room(2, 9), { count: 40, epoch: 1, lastAt: 1 })).toBe(2);
  });
});
