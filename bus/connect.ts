import { connect } from '@nats-io/transport-node';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory.ts';
import { NatsBus } from './nats.ts';
import { TracedBus } from '../tracing/traced-bus.ts';

/**
 * Node's way in: NATS over TCP when a URL is given, else the in-process bus of the embedded default; traced
 * either way, so a trace crosses the bus the same in both modes.
 */
export async function connectBus(natsUrl: string | undefined, name: string): Promise<Bus> {
  if (!natsUrl) return new TracedBus(new MemoryBus(), 'in-process');
  // Reconnect fast: a restarted nats-server is back in a second, and every request waits for us.
  const nc = await connect({
    servers: natsUrl.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
  });
  return new TracedBus(new NatsBus(nc), 'nats');
}
