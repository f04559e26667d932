import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boundPort, startProcess } from './processes.ts';

export interface NatsServer {
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export const NATS_CLIENT_PORT = /Listening for client connections on [\d.]+:(\d+)/;
export const NATS_WEBSOCKET_PORT = /Listening for websocket clients on ws:\/\/[\d.]+:(\d+)/;

/** A real nats-server with JetStream and a WebSocket listener, on free ports, with its own store. */
export async function startNats(): Promise<NatsServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-'));
  const config = path.join(dir, 'nats.conf');
  // Port -1: the server binds a free port itself and says which (see boundPort).
  fs.writeFileSync(config, 'websocket { listen: "127.0.0.1:-1", no_tls: true }\n');
  const server = await startProcess('nats-server', ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir, '-c', config], {
    name: 'nats-server',
    ready: /Server is ready/,
  });
  return {
    url: `nats://127.0.0.1:${boundPort(server, NATS_CLIENT_PORT)}`,
    wsUrl: `ws://127.0.0.1:${boundPort(server, NATS_WEBSOCKET_PORT)}`,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
