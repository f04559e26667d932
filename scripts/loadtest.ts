import { parseArgs } from 'node:util';
import { issueToken } from '../signaling/auth.ts';
import { finalTable, progressLine } from './loadtest/report.ts';
import { runLoadTest } from './loadtest/run.ts';

const USAGE = `npm run loadtest -- [--url http://host:port] [--rooms 1] [--publishers 2] [--subscribers 2] [--duration 30s]
  [--no-audio] [--no-video] [--concurrency 5] [--json]
Tokens: PARLEY_SECRET in the environment mints them locally; without it the deployment's POST /api/dev/token is used.
Without --url, an embedded Parley is started on a free port for the run.`;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rooms: { type: 'string', default: '1' },
    publishers: { type: 'string', default: '2' },
    subscribers: { type: 'string', default: '2' },
    duration: { type: 'string', default: '30s' },
    concurrency: { type: 'string', default: '5' },
    'no-audio': { type: 'boolean', default: false },
    'no-video': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const count = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number`);
  return n;
};

let url = values.url;
let secret = process.env.PARLEY_SECRET;
let stopLocal: () => Promise<void> = async () => {};
if (!url) {
  // A local embedded server, with the limiter raised: a load test is not the abuse it guards against.
  const { startParley } = await import('../bench/lib/targets.ts');
  const { TEST_SECRET } = await import('../harness/cluster.ts');
  const local = await startParley('embedded');
  [url, secret, stopLocal] = [local.url, TEST_SECRET, () => local.stop()];
  console.error(`started an embedded Parley at ${url}`);
}
const base = url;

const results = await runLoadTest(
  {
    url: base,
    rooms: count('rooms', values.rooms),
    publishers: count('publishers', values.publishers),
    subscribers: count('subscribers', values.subscribers),
    durationMs: parseDuration(values.duration),
    joinConcurrency: Math.max(1, count('concurrency', values.concurrency)),
    audio: !values['no-audio'],
    video: !values['no-video'],
    token: (name, room) => (secret ? issueToken(secret, { identity: name, name, room }) : devToken(base, name, room)),
  },
  (p) => (process.stderr.isTTY ? process.stderr.write(`\r${progressLine(p)}   `) : process.stderr.write(`${progressLine(p)}\n`)),
).finally(stopLocal);
process.stderr.write('\n');
console.log(values.json ? JSON.stringify(results, null, 2) : finalTable(results));
process.exit(results.some((r) => r.errors.length) ? 1 : 0);

async function devToken(baseUrl: string, name: string, room: string): Promise<string> {
  const res = await fetch(new URL('/api/dev/token', baseUrl.replace(/^ws/, 'http')), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, room }),
  });
  if (!res.ok) fail(`no PARLEY_SECRET and ${baseUrl} refused a dev token (${res.status}): set PARLEY_SECRET`);
  return ((await res.json()) as { token: string }).token;
}

/** "60s", "2m", "500ms" or plain seconds. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) fail(`--duration: expected e.g. 60s, 2m or 500ms, got ${text}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm'];
}

function fail(message: string): never {
  console.error(`loadtest: ${message}\n${USAGE}`);
  process.exit(2);
}
