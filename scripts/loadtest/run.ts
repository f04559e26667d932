import { Bot } from '../../bots/bot.ts';
import type { BotStats } from '../../bots/bot.ts';

/** One simulated participant's figures at the end of a load test. */
export interface ParticipantResult {
  name: string;
  room: string;
  role: 'publisher' | 'subscriber';
  joinMs?: number;
  firstFrameMs?: number;
  consumers: number;
  inKbps: number;
  outKbps: number;
  lossPct: number;
  nacks: number;
  plis: number;
  errors: string[];
}

export interface LoadTestOptions {
  url: string;
  rooms: number;
  publishers: number;
  subscribers: number;
  durationMs: number;
  /** Returns an access token for a participant (minted locally or fetched from a dev endpoint). */
  token(name: string, room: string): Promise<string | undefined>;
  audio: boolean;
  video: boolean;
  /** Participants joining at once; the rest wait, as a crowd arriving over a few seconds would. */
  joinConcurrency: number;
}

export interface Progress {
  elapsedMs: number;
  joined: number;
  total: number;
  errors: number;
  inMbps: number;
  lossPct: number;
}

const SETTLE_MS = 3000;

interface Participant {
  result: ParticipantResult;
  bot?: Bot;
  first?: { at: number; stats: BotStats };
}

/** Joins everyone (publishers first in each room), holds for `durationMs`, samples, and leaves. */
export async function runLoadTest(
  options: LoadTestOptions,
  onProgress: (p: Progress) => void = () => undefined,
): Promise<ParticipantResult[]> {
  const participants: Participant[] = [];
  for (let r = 0; r < options.rooms; r++) {
    const room = `load-${r}`;
    for (let i = 0; i < options.publishers; i++) participants.push(blank(`${room}-pub${i}`, room, 'publisher'));
    for (let i = 0; i < options.subscribers; i++) participants.push(blank(`${room}-sub${i}`, room, 'subscriber'));
  }
  const started = performance.now();
  let last: { at: number; bytes: number; packets: number; lost: number } = { at: started, bytes: 0, packets: 0, lost: 0 };
  const ticker = setInterval(() => {
    void totals(participants).then((t) => {
      const now = performance.now();
      const seconds = (now - last.at) / 1000;
      const packets = t.packets - last.packets;
      const lost = Math.max(0, t.lost - last.lost);
      onProgress({
        elapsedMs: now - started,
        joined: participants.filter((p) => p.bot).length,
        total: participants.length,
        errors: participants.reduce((n, p) => n + p.result.errors.length, 0),
        inMbps: ((t.bytes - last.bytes) * 8) / seconds / 1e6,
        lossPct: (100 * lost) / Math.max(1, packets + lost),
      });
      last = { at: now, ...t };
    });
  }, 1000);
  try {
    await inParallel(participants, options.joinConcurrency, (p) => join(p, options));
    const joinedAt = performance.now();
    // A moment for consumers and their first key frames, so the window measures the steady state.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await Promise.all(participants.map(async (p) => p.bot && (p.first = { at: performance.now(), stats: await p.bot.stats() })));
    await new Promise((r) => setTimeout(r, Math.max(0, options.durationMs - (performance.now() - joinedAt))));
    await Promise.all(participants.map((p) => finish(p)));
    return participants.map((p) => p.result);
  } finally {
    clearInterval(ticker);
    await Promise.all(participants.map((p) => p.bot?.leave()));
  }
}

function blank(name: string, room: string, role: ParticipantResult['role']): Participant {
  return { result: { name, room, role, consumers: 0, inKbps: 0, outKbps: 0, lossPct: 0, nacks: 0, plis: 0, errors: [] } };
}

async function join(p: Participant, options: LoadTestOptions): Promise<void> {
  const { name, room, role } = p.result;
  try {
    const bot = await Bot.join({
      url: options.url,
      room,
      name,
      token: await options.token(name, room),
      subscribe: role === 'subscriber',
    });
    p.bot = bot;
    p.result.joinMs = bot.joinMs;
    // Shared sources: one picture and one tone for the whole process, an encoder per publisher.
    if (role === 'publisher') await bot.publish({ audio: options.audio, video: options.video, shared: true });
  } catch (err) {
    p.result.errors.push((err as Error).message);
  }
}

async function finish(p: Participant): Promise<void> {
  if (!p.bot || !p.first) return;
  try {
    const now = await p.bot.stats();
    const seconds = (performance.now() - p.first.at) / 1000;
    const before = p.first.stats;
    const received = now.inbound.packets - before.inbound.packets;
    const lost = Math.max(0, now.inbound.packetsLost - before.inbound.packetsLost);
    Object.assign(p.result, {
      firstFrameMs: p.bot.firstRemoteVideoMs,
      consumers: now.consumers,
      inKbps: Math.round(((now.inbound.bytes - before.inbound.bytes) * 8) / seconds / 1000),
      outKbps: Math.round(((now.outbound.bytes - before.outbound.bytes) * 8) / seconds / 1000),
      lossPct: Math.round((10000 * lost) / Math.max(1, received + lost)) / 100,
      // NACKs and PLIs: those a subscriber sent, and those the SFU sent a publisher.
      nacks: now.inbound.nacks - before.inbound.nacks + now.outbound.nacks - before.outbound.nacks,
      plis: now.inbound.plis - before.inbound.plis + now.outbound.plis - before.outbound.plis,
    });
  } catch (err) {
    p.result.errors.push((err as Error).message);
  }
}

async function totals(participants: Participant[]): Promise<{ bytes: number; packets: number; lost: number }> {
  const stats = await Promise.all(participants.map((p) => p.bot?.stats().catch(() => undefined)));
  return stats.reduce(
    (t, s) =>
      s ? { bytes: t.bytes + s.inbound.bytes, packets: t.packets + s.inbound.packets, lost: t.lost + s.inbound.packetsLost } : t,
    { bytes: 0, packets: 0, lost: 0 },
  );
}

async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
