import { connect } from '@nats-io/transport-node';
import { StartupError } from '../config/startup.ts';
import type { Bus } from './bus.ts';
import { MemoryBus } from './memory.ts';
import { NatsBus } from './nats.ts';
import { describeNatsFailure } from './nats-options.ts';
import type { NatsSettings } from './nats-options.ts';

/** Node's way in: NATS over TCP when settings are given (NATS_URL), else the in-process bus of the embedded default. */
export async function connectBus(nats: NatsSettings | undefined, name: string): Promise<Bus> {
  if (!nats) return new MemoryBus();
  if (nats.transport !== 'tcp') {
    throw new StartupError(`NATS_URL: Node connects over TCP (nats:// or tls://), not ${nats.servers.join(',')}`);
  }
  try {
    return new NatsBus(await connect({ servers: nats.servers, name, ...nats.options }));
  } catch (err) {
    throw new StartupError(describeNatsFailure(nats, err), { cause: err });
  }
}
