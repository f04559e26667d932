import { MemoryBus } from '../../bus/memory.ts';
import { busContract } from '../contract/bus.contract.ts';

// In one process every "client" is the same bus, as in the embedded default.
busContract('memory', async () => {
  const bus = new MemoryBus();
  return { connect: async () => bus, stop: () => bus.close() };
});
