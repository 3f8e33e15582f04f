/**
 * bench:gossip part (a): 1,000 peers in one process over the simulated network (links of
 * 5..25 ms one way, fixed per link), each with one subscribed module that answers at once.
 * Runs the real engine, including the join through the bootstrapper and the PoW verification
 * of every link (at a low difficulty so that 1,000 peers join fast; 24 bits in the real config).
 */
import { GOSSIP_DEFAULTS, type GossipParams } from '../src/protocol/gossip/limits.js';
import { simPow } from '../src/services/gossip/pow.js';
import { SimNet } from '../test/harness/simnet.js';

export interface SimResult {
  readonly scenario: string;
  readonly peers: number;
  readonly degree: number;
  readonly items: number;
  readonly deliveryRatio: number;
  readonly hopsP50: number;
  readonly hopsP99: number;
  readonly pushesPerDelivery: number;
  readonly controlPerDelivery: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly wallMs: number;
}

export const SIM_BENCH_PARAMS: GossipParams = {
  ...GOSSIP_DEFAULTS,
  degree: 6,
  maxLinks: 16,
  powBits: 4,
  keepBits: 4,
  peerRequestLimit: 30,
  cacheSize: 500,
};

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function runSim(
  scenario: string,
  peers: number,
  items: number,
  dropperShare: number,
  seed = 11,
): SimResult {
  const started = performance.now();
  const droppers = new Set<number>();
  // Droppers never announce; they sit anywhere else in the network.
  for (let i = 0; i < peers && droppers.size < Math.round(peers * dropperShare); i++) {
    if (i % Math.round(1 / dropperShare) === 1) droppers.add(i);
  }
  const net = new SimNet({ peers, params: SIM_BENCH_PARAMS, pow: simPow(), seed, droppers });
  const conns = net.engines.map((_, i) => net.subscribe(i, [1]));
  net.run(20_000);
  const before = { ...net.stats };
  const announced: { key: string; origin: number; at: number }[] = [];
  for (let k = 0; k < items; k++) {
    let origin = (k * 97) % peers;
    while (droppers.has(origin)) origin = (origin + 1) % peers;
    announced.push({
      key: net.announce(origin, conns[origin]!, 1, Buffer.from(`bench item ${k}`), 0),
      origin,
      at: net.now,
    });
    net.run(net.now + 100);
  }
  net.run(net.now + 10_000);
  const honest = peers - droppers.size;
  const expected = items * (honest - 1);
  const byKey = new Map(announced.map((a) => [a.key, a]));
  const hops: number[] = [];
  const latencies: number[] = [];
  let delivered = 0;
  const once = new Set<string>();
  for (const d of net.deliveries) {
    const a = byKey.get(d.key);
    if (a === undefined || droppers.has(d.peer) || once.has(`${d.peer}/${d.key}`)) continue;
    once.add(`${d.peer}/${d.key}`);
    delivered++;
    hops.push(d.hops);
    latencies.push(d.at - a.at);
  }
  hops.sort((x, y) => x - y);
  latencies.sort((x, y) => x - y);
  const pushes = net.stats.pushes - before.pushes;
  const control = net.stats.ihaves - before.ihaves + (net.stats.iwants - before.iwants);
  return {
    scenario,
    peers,
    degree: SIM_BENCH_PARAMS.degree,
    items,
    deliveryRatio: delivered / expected,
    hopsP50: quantile(hops, 0.5),
    hopsP99: quantile(hops, 0.99),
    pushesPerDelivery: pushes / Math.max(1, delivered),
    controlPerDelivery: control / Math.max(1, delivered),
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP99Ms: quantile(latencies, 0.99),
    wallMs: performance.now() - started,
  };
}
