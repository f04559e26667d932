import { connect } from '@nats-io/transport-node';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory.ts';
import { NatsBus } from './nats.ts';
import { NATS_RECONNECT } from './nats-options.ts';

/** Node's way in: NATS over TCP when a URL is given, else the in-process bus of the embedded default. */
export async function connectBus(natsUrl: string | undefined, name: string): Promise<Bus> {
  if (!natsUrl) return new MemoryBus();
  return new NatsBus(await connect({ servers: natsUrl.split(','), name, ...NATS_RECONNECT }));
}
