import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NatsServer } from './nats.ts';
import { NATS_CLIENT_PORT, NATS_WEBSOCKET_PORT } from './nats.ts';
import { boundPort, startProcess } from './processes.ts';
import type { Running } from './processes.ts';

/**
 * A nats-server the test controls: JetStream with a store directory that outlives the process, a WebSocket
 * listener (for Deno signaling) and the HTTP monitoring endpoint. `restart()` stops it and starts it again
 * on the same ports and store, as an operator's restart or a crashed pod coming back would.
 */
export interface ControlledNats extends NatsServer {
  port: number;
  monitorUrl: string;
  /** Stops the server (SIGTERM, or SIGKILL with `hard`); the store directory stays. */
  halt(hard?: boolean): Promise<void>;
  /** Starts it again on the same ports and store; resolves once it is ready. */
  start(): Promise<void>;
  /** GET a monitoring endpoint (e.g. `/subsz`, `/connz`) as JSON. */
  monitor<T = Record<string, unknown>>(endpoint: string): Promise<T>;
  output(): string;
}

export async function startControlledNats(): Promise<ControlledNats> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-ctl-'));
  const config = path.join(dir, 'nats.conf');
  // The first start binds free ports itself (-1) and says which; a restart takes the same ones again, so
  // clients reconnect to the address they know.
  const ports = { client: -1, websocket: -1, monitor: -1 };
  let server: Running | undefined;
  let log = '';
  const launch = async () => {
    fs.writeFileSync(config, `websocket { listen: "127.0.0.1:${ports.websocket}", no_tls: true }\n`);
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(ports.client),
      '-m',
      String(ports.monitor),
      '-js',
      '-sd',
      path.join(dir, 'store'),
    ];
    server = await startProcess('nats-server', [...args, '-c', config], { name: 'nats-server', ready: /Server is ready/ });
    ports.client = boundPort(server, NATS_CLIENT_PORT);
    ports.websocket = boundPort(server, NATS_WEBSOCKET_PORT);
    ports.monitor = boundPort(server, /Starting http monitor on [\d.]+:(\d+)/);
  };
  await launch();
  const { client: port, websocket: wsPort, monitor: monitorPort } = ports;
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const control: ControlledNats = {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    port,
    monitorUrl,
    async halt(hard = false) {
      const running = server;
      server = undefined;
      if (!running) return;
      log += running.output();
      if (hard) {
        const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
        running.child.kill('SIGKILL');
        await exited;
      } else {
        await running.stop();
      }
    },
    async start() {
      if (!server) await launch();
    },
    async monitor<T>(endpoint: string): Promise<T> {
      const res = await fetch(`${monitorUrl}${endpoint}`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as T;
    },
    output: () => log + (server?.output() ?? ''),
    async stop() {
      await control.halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return control;
}
