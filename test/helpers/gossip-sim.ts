import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { simPow } from '../../src/services/gossip/pow.js';
import { SimNet, type SimOptions, type SimPow } from '../harness/simnet.js';

/** Parameters for many-peer tests: gossipsub's degree, a low PoW so 50+ peers join fast. */
export const SIM_PARAMS: GossipParams = {
  ...GOSSIP_DEFAULTS,
  degree: 6,
  maxLinks: 16,
  powBits: 6,
  // KEEP rounds run in every simulation, at a difficulty the simulated solver finds at once.
  keepBits: 6,
  peerRequestLimit: 30,
  cacheSize: 200,
};

export function simNet(peers: number, options: Partial<SimOptions> = {}): SimNet {
  const pow: SimPow = simPow();
  return new SimNet({ peers, params: SIM_PARAMS, pow, seed: 7, ...options });
}

/** Builds a net, subscribes one valid module per peer to `dataType`, lets it settle. */
export function settledNet(peers: number, dataType: number, options: Partial<SimOptions> = {}) {
  const net = simNet(peers, options);
  const conns = net.engines.map((_, i) => net.subscribe(i, [dataType]));
  net.run(15_000);
  return { net, conns };
}
