import { parseArgs } from 'node:util';
import { ALL_SOURCES, ANY_ROOM } from '../protocol/auth.ts';
import { Source } from '../protocol/room.ts';
import { DEFAULT_TOKEN_POLICY, DEFAULT_TOKEN_TTL_S, issueToken } from '../signaling/auth.ts';

/** `npm run token -- --name Ada [--room lounge] [--identity ada] [--ttl 3600] [--sources microphone,camera] [--no-publish] [--no-subscribe] [--no-chat] [--moderator] [--admin] [--load-test]` */
const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    identity: { type: 'string' },
    room: { type: 'string', default: ANY_ROOM },
    ttl: { type: 'string', default: String(DEFAULT_TOKEN_TTL_S) },
    sources: { type: 'string', default: ALL_SOURCES.join(',') },
    'no-publish': { type: 'boolean', default: false },
    'no-subscribe': { type: 'boolean', default: false },
    'no-chat': { type: 'boolean', default: false },
    /** Mute others, remove them, end the room. */
    moderator: { type: 'boolean', default: false },
    /** For operators: the /debug dashboard. */
    admin: { type: 'boolean', default: false },
    /** For load testers: plain RTP transports (bench/rtp/). */
    'load-test': { type: 'boolean', default: false },
  },
});

const secret = process.env.PARLEY_SECRET;
if (!secret || secret.length < 16) fail('set PARLEY_SECRET (the same secret the signaling instances use)');
if (!values.name) fail('--name is required');
const sources = Source.array().safeParse(values.sources.split(',').filter(Boolean));
if (!sources.success) fail(`--sources must be a comma-separated subset of ${ALL_SOURCES.join(',')}`);
const ttlSeconds = Number(values.ttl);
if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) fail('--ttl must be a whole number of seconds');
if (ttlSeconds > DEFAULT_TOKEN_POLICY.tokenMaxLifetimeS) {
  console.error(
    `token: signaling refuses tokens living over TOKEN_MAX_LIFETIME_S (default ${DEFAULT_TOKEN_POLICY.tokenMaxLifetimeS} s)`,
  );
}

const token = await issueToken(secret, {
  identity: values.identity ?? values.name.toLowerCase().replace(/[^a-z0-9_-]/g, '-'),
  name: values.name,
  room: values.room,
  ttlSeconds,
  grants: {
    canPublish: !values['no-publish'],
    canSubscribe: !values['no-subscribe'],
    sources: sources.data,
    ...(values['no-chat'] && { canChat: false }),
    ...(values.moderator && { moderator: true }),
    ...(values['load-test'] && { loadTest: true }),
  },
  admin: values.admin,
}).catch((err: Error) => fail(err.message));
console.log(token);

function fail(message: string): never {
  console.error(`token: ${message}`);
  process.exit(2);
}
