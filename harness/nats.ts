import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { startProcess } from './processes.ts';

export interface NatsServer {
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** A real nats-server with JetStream and a WebSocket listener, on free ports, with its own store. */
export async function startNats(): Promise<NatsServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-'));
  const [port, wsPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'nats.conf');
  fs.writeFileSync(config, `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`);
  const server = await startProcess('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '-c', config], {
    name: 'nats-server',
    ready: /Server is ready/,
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
