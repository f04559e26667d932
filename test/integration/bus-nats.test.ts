import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../bus/nats.ts';
import { busContract } from '../contract/bus.contract.ts';
import { startNats } from '../../harness/nats.ts';

busContract('nats', async () => {
  const server = await startNats();
  return {
    connect: async () => new NatsBus(await connect({ servers: server.url })),
    stop: () => server.stop(),
  };
});
