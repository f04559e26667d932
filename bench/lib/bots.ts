import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import type { RtpTotals } from '../../bots/bot.ts';
import { token } from '../../harness/cluster.ts';
import type { Target } from './targets.ts';

/** Joins a bot to `target` (minting a test token when it needs one). */
export async function joinBot(target: Target, room: string, name: string, subscribe = true): Promise<Bot> {
  return Bot.join({ url: target.url, room, name, subscribe, token: target.needsToken ? await token(name) : undefined });
}

/** Waits until `bot` consumes `consumers` streams and has decoded video. */
export function untilReceiving(bot: Bot, consumers: number, timeoutMs = 30_000): Promise<unknown> {
  return waitFor(
    `${bot.name} to receive ${consumers} streams`,
    async () => {
      const s = await bot.stats();
      return s.consumers >= consumers && s.videoFramesDecoded > 0;
    },
    timeoutMs,
  );
}

/** Inbound totals summed over bots. */
export async function inbound(bots: Bot[]): Promise<RtpTotals> {
  const all = await Promise.all(bots.map(async (b) => (await b.stats()).inbound));
  return all.reduce(
    (t, s) => ({
      bytes: t.bytes + s.bytes,
      packets: t.packets + s.packets,
      packetsLost: t.packetsLost + s.packetsLost,
      nacks: t.nacks + s.nacks,
      plis: t.plis + s.plis,
    }),
    { bytes: 0, packets: 0, packetsLost: 0, nacks: 0, plis: 0 },
  );
}
