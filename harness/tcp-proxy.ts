import net from 'node:net';

export interface TcpProxy {
  /** http://127.0.0.1:<port> of the proxy. */
  url: string;
  /** Drops every open connection at once, as a network failure would; new ones are let through. */
  cut(): number;
  /**
   * Stops carrying anything on the open connections without closing them, as a network that vanished (cable,
   * power, a phone out of coverage): no FIN and no reset reach either end.
   */
  freeze(): void;
  stop(): Promise<void>;
}

/** A TCP forwarder to `target` (http://host:port) whose connections a test can cut. */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  const pairs = new Map<net.Socket, net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    open.add(client);
    pairs.set(client, upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      open.delete(client);
      pairs.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    cut() {
      const n = open.size;
      for (const socket of open) socket.resetAndDestroy();
      return n;
    },
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream).pause();
        upstream.unpipe(client).pause();
      }
    },
    stop: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
