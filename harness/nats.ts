import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { startProcess } from './processes.ts';

export interface NatsServer {
  url: string;
  wsUrl: string;
  /** The server's log so far (with `debug`, permission violations and authentication failures). */
  output(): string;
  stop(): Promise<void>;
}

export interface NatsOptions {
  /** More server configuration (e.g. `include` of permissions and an `authorization` block). */
  config?: string;
  /** Files copied next to the configuration, for `include "<name>"` (nats-server resolves includes there). */
  includes?: string[];
  /** TLS on the client port and the WebSocket listener; `verifyClients` asks TCP clients for a certificate. */
  tls?: { certFile: string; keyFile: string; caFile: string; verifyClients?: boolean };
  /** Log every permission violation and authentication failure. */
  debug?: boolean;
}

/** A real nats-server with JetStream and a WebSocket listener, on free ports, with its own store. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-'));
  const [port, wsPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'nats.conf');
  for (const file of options.includes ?? []) fs.copyFileSync(file, path.join(dir, path.basename(file)));
  const { tls } = options;
  const tlsBlock = (verify: boolean) =>
    tls ? `tls { cert_file: "${tls.certFile}", key_file: "${tls.keyFile}", ca_file: "${tls.caFile}", verify: ${verify} }` : '';
  fs.writeFileSync(
    config,
    [
      `listen: "127.0.0.1:${port}"`,
      tlsBlock(tls?.verifyClients ?? false),
      // Browsers' and Deno's WebSockets cannot present client certificates.
      `websocket { listen: "127.0.0.1:${wsPort}", ${tls ? tlsBlock(false) : 'no_tls: true'} }`,
      options.config ?? '',
    ].join('\n'),
  );
  const args = ['-js', '-sd', dir, '-c', config, ...(options.debug ? ['-D'] : [])];
  const server = await startProcess('nats-server', args, { name: 'nats-server', ready: /Server is ready/ });
  return {
    url: `${tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    wsUrl: `${tls ? 'wss' : 'ws'}://127.0.0.1:${wsPort}`,
    output: () => server.output(),
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
