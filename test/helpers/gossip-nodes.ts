import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { MemoryHub } from '../../src/services/gossip/memory-transport.js';
import { GossipNode } from '../../src/services/gossip/node.js';

export const NODE_PARAMS: GossipParams = {
  ...GOSSIP_DEFAULTS,
  degree: 4,
  powBits: 8,
  keepBits: 8,
  heartbeatMs: 20,
  joinRetryMs: 200,
  peerRequestLimit: 8,
  validationTimeoutMs: 2_000,
};

/** A bootstrapper and `n` peers over the in-memory transport, with real API servers on 127.0.0.1:0. */
export async function memoryNodes(n: number, params: GossipParams = NODE_PARAMS) {
  const hub = new MemoryHub(1);
  const boot = new GossipNode({
    params,
    identity: 'boot',
    transport: hub.transport('boot'),
    p2pAddress: { host: '10.0.0.254', port: 6001 },
    isBootstrapper: true,
  });
  await boot.start();
  const peers: GossipNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new GossipNode({
      params,
      identity: `peer-${i}`,
      transport: hub.transport(`peer-${i}`),
      p2pAddress: { host: `10.0.0.${i + 1}`, port: 6001 },
      apiAddress: { host: '127.0.0.1', port: 0 },
      bootstrapper: { host: '10.0.0.254', port: 6001 },
    });
    await node.start();
    peers.push(node);
  }
  return {
    boot,
    peers,
    async close() {
      await Promise.all([boot, ...peers].map((p) => p.close()));
    },
  };
}

export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function neighbours(node: GossipNode): number {
  let n = 0;
  for (const l of node.view().links) if (l.verified && !l.bootstrap) n++;
  return n;
}
