import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary } from '../../harness/cluster.ts';
import { freePort } from '../../harness/ports.ts';
import { readableLines, repoRoot } from '../../harness/processes.ts';

/**
 * A process that cannot start says why in one line and exits 1 (issue #13 item 9, #14 item 10): a wrong
 * variable, a missing secret, a port in use, an unreachable NATS, for `npm start`, signaling on Node and Deno,
 * and the media worker.
 */
describe('start failures an operator can read', () => {
  let busy: net.Server;
  let busyPort: number;
  let closedPort: number;

  beforeAll(async () => {
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as net.AddressInfo).port;
    closedPort = await freePort();
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  const cases: [string, string[], NodeJS.ProcessEnv, string][] = [
    ['npm start on a port in use', ['scripts/start.ts'], { PORT: '', MEDIA_WORKERS: '1' }, 'PORT_IN_USE'],
    [
      'signaling without a secret',
      ['signaling/main.ts'],
      { NATS_URL: 'nats://127.0.0.1:4222' },
      '[signaling] PARLEY_SECRET must be set to at least 16 characters (the same on every signaling instance)',
    ],
    [
      'signaling with an unreachable NATS',
      ['signaling/main.ts'],
      { NATS_URL: 'CLOSED', PARLEY_SECRET: 'x'.repeat(20) },
      '[signaling] cannot connect to NATS at nats://127.0.0.1:CLOSED_PORT as no credentials: connection refused',
    ],
    [
      'a media worker with a wrong log level',
      ['media-worker/main.ts'],
      { NATS_URL: 'nats://127.0.0.1:4222', MEDIA_LOG_LEVEL: 'loud' },
      '[media-worker] configuration: MEDIA_LOG_LEVEL: expected one of debug, warn, error, none (got "loud")',
    ],
  ];

  it.each(cases)('%s', async (_name, args, env, expected) => {
    const resolved = {
      ...env,
      ...(env.PORT === '' && { PORT: String(busyPort) }),
      ...(env.NATS_URL === 'CLOSED' && { NATS_URL: `nats://127.0.0.1:${closedPort}` }),
    };
    const { code, output } = await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, args[0]!)], resolved);
    console.log(`${args[0]}: exit ${code}: ${output}`);
    expect(code).toBe(1);
    expect(readableLines(output)).toEqual([
      expected
        .replace(
          'PORT_IN_USE',
          `[parley] cannot listen: 127.0.0.1:${busyPort} is already in use (set PORT, or stop the other process)`,
        )
        .replace('CLOSED_PORT', String(closedPort)),
    ]);
  });

  it('signaling on Deno with an unreachable NATS', async () => {
    const deno = ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-sys', 'signaling/deno.ts'];
    const env = { NATS_URL: `ws://127.0.0.1:${closedPort}`, PARLEY_SECRET: 'x'.repeat(20) };
    const { code, output } = await run(denoBinary(), deno, env);
    console.log(`signaling/deno.ts: exit ${code}: ${output}`);
    expect(code).toBe(1);
    const lines = readableLines(output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^\\[signaling\\] cannot connect to NATS at ws://127.0.0.1:${closedPort} as no credentials: `),
    );
  });
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    // Only what the case sets: none of the test runner's own configuration leaks in.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}
