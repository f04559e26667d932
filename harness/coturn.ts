import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './processes.ts';
import type { Running } from './processes.ts';

export interface Coturn {
  /** The port TURN listens on, UDP and TCP alike. */
  port: number;
  /** `turn:127.0.0.1:<port>?transport=<transport>`. */
  url(transport: 'udp' | 'tcp'): string;
  /** The server's log so far (sessions, allocations, refusals). */
  output(): string;
  stop(): Promise<void>;
}

/** The last line coturn prints once its listeners and relay threads are set up. */
const STARTED = /SQLite DB connection success/;
/** Below the kernel's ephemeral range (32768+), so no outgoing connection takes the port meanwhile. */
const PORT_RANGE = { from: 20_000, to: 32_000 };
const ATTEMPTS = 5;

/**
 * Debian's coturn on loopback with the TURN REST shared secret, as a deployment runs it (`use-auth-secret`),
 * plus `allow-loopback-peers` since the media-workers announce 127.0.0.1. coturn cannot bind port 0 and say
 * which port it got (it binds each thread's socket separately), so a port is picked at random and kept only
 * when `ss` shows this very process listening on it over UDP and TCP; else another is tried.
 */
export async function startCoturn(secret: string): Promise<Coturn> {
  for (let attempt = 1; ; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from - 400));
    const running = await launch(secret, port);
    if (owns(running, port)) {
      return {
        port,
        url: (transport) => `turn:127.0.0.1:${port}?transport=${transport}`,
        output: () => running.output(),
        stop: () => running.stop(),
      };
    }
    await running.stop();
    if (attempt === ATTEMPTS) throw new Error(`coturn could not bind a port in ${ATTEMPTS} attempts:\n${running.output()}`);
  }
}

async function launch(secret: string, port: number): Promise<Running> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-'));
  const args = [
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    // Relay ports next to the listener; coturn skips ones taken.
    `--min-port=${port + 1}`,
    `--max-port=${port + 400}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=parley.test',
    '--no-tls',
    '--no-dtls',
    '--allow-loopback-peers',
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`,
  ];
  const running = await startProcess('turnserver', ['-n', ...args], { name: 'coturn', ready: STARTED });
  const stop = running.stop;
  running.stop = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return running;
}

/** Whether this coturn process (not another one) listens on `port` over both UDP and TCP. */
function owns(running: Running, port: number): boolean {
  if (/Cannot bind/.test(running.output())) return false;
  const listening = execFileSync('ss', ['-Hlntup', `sport = :${port}`], { encoding: 'utf8' });
  const mine = listening.split('\n').filter((line) => line.includes(`pid=${running.child.pid},`));
  return mine.some((l) => l.startsWith('udp')) && mine.some((l) => l.startsWith('tcp'));
}
