import type { Bus } from '../../bus/bus.ts';
import type { SignalingOptions } from '../app.ts';
import type { SignalingConfig } from '../config.ts';
import type { TlsFiles } from '../tls.ts';

/** What every runtime adapter (node.ts, deno.ts) takes: the same options, the same running server. */
export interface ServerOptions {
  bus: Bus;
  config: SignalingConfig;
  port: number;
  /** The interface to listen on (HOST): 127.0.0.1 in the embedded default, 0.0.0.0 for a deployment. */
  hostname: string;
  /** The built web app (web/dist) to serve next to the API, if any. */
  webRoot?: string;
  traces?: SignalingOptions['traces'];
  /** Serve HTTPS/WSS with this key and certificate. */
  tls?: TlsFiles;
}

export interface RunningServer {
  url: string;
  port: number;
  /** SIGTERM: move clients elsewhere (1012), then stop. */
  drain(): Promise<void>;
  close(): Promise<void>;
}
