import { Bot } from '../bots/bot.ts';

/**
 * One bot as its own process, for tests whose clients live on another (namespace) host: joins with the
 * env's URL, room, name and token, publishes unless BOT_PUBLISH=0 (camera only with BOT_AUDIO=0), and prints its state as a JSON line
 * every 250 ms until killed.
 */
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const bot = await Bot.join({ url: env('BOT_URL'), room: env('BOT_ROOM'), name: env('BOT_NAME'), token: env('BOT_TOKEN') });
if (process.env.BOT_PUBLISH !== '0') await bot.publish({ audio: process.env.BOT_AUDIO !== '0' });
setInterval(() => {
  void bot.stats().then((stats) => {
    const state = {
      peerId: bot.peerId,
      camera: bot.producerId('camera') ?? null,
      consuming: bot.remoteConsumers().map((c) => c.producerId),
      peers: [...bot.peers.keys()],
      resets: bot.resets,
      firstRemoteVideoMs: bot.firstRemoteVideoMs ?? null,
      ...stats,
    };
    console.log(`BOT ${JSON.stringify(state)}`);
  });
}, 250);
process.on('SIGTERM', () => {
  bot.close();
  process.exit(0);
});
