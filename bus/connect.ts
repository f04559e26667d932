import { connect } from '@nats-io/transport-node';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory.ts';
import { NatsBus } from './nats.ts';

/** Node's way in: NATS over TCP when a URL is given, else the in-process bus of the embedded default. */
export async function connectBus(natsUrl: string | undefined, name: string): Promise<Bus> {
  if (!natsUrl) return new MemoryBus();
  // Reconnect fast: a restarted nats-server is back in a second, and every request waits for us.
  const nc = await connect({ servers: natsUrl.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100 });
  return new NatsBus(nc);
}
