/**
 * The Gossip part of `tollgate demo`: a bootstrapper and five peers on loopback (real TCP,
 * the secure channel, PoW-verified links), one subscriber per peer, a few items announced
 * from one peer's API client, and when each arrived where. Stops by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GossipApiClient } from './api-client.js';
import { type GossipService, startGossipService } from './index.js';
import { writeTestbed } from './testbed.js';

export interface GossipDemoResult {
  readonly peers: number;
  readonly items: number;
  /** Notifications received, of peers × items expected. */
  readonly delivered: number;
  readonly expected: number;
  /** ANNOUNCE -> NOTIFICATION, per delivery (ms). */
  readonly latenciesMs: readonly number[];
  readonly joinMs: number;
  readonly powBits: number;
}

export async function runGossipDemo(
  options: {
    peers?: number;
    items?: number;
    powBits?: number;
    deadlineMs?: number;
    onLine?: (line: string) => void;
  } = {},
): Promise<GossipDemoResult> {
  const peers = options.peers ?? 5;
  const items = options.items ?? 3;
  const powBits = options.powBits ?? 12;
  const deadline = performance.now() + (options.deadlineMs ?? 20_000);
  const say = options.onLine ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-gossip-demo-'));
  const services: GossipService[] = [];
  const clients: GossipApiClient[] = [];
  try {
    const bed = await writeTestbed(dir, {
      peers,
      powBits,
      degree: 4,
      keyType: 'ed25519',
      extra: 'heartbeat_ms = 50',
    });
    const started = performance.now();
    const boot = await startGossipService(bed.bootstrapIni, 'bootstrap');
    services.push(boot);
    const at = boot.node.p2pAddress!;
    for (const ini of bed.writePeers(`${at.host}:${at.port}`)) {
      services.push(await startGossipService(ini, 'peer'));
    }
    const nodes = services.slice(1).map((s) => s.node);
    while (nodes.some((n) => n.neighbours() < 1) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const joinMs = performance.now() - started;
    say(
      `  bootstrapper + ${peers} peers joined in ${Math.round(joinMs)} ms (each link: secure channel, then a ${powBits}-bit sha256-bits PoW each way); neighbours: ${nodes.map((n) => n.neighbours()).join(' ')}`,
    );
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    for (const [i, node] of nodes.entries()) {
      const c = await GossipApiClient.connect(node.apiAddress!);
      clients.push(c);
      c.onNotification((n) => {
        c.validate(n.messageId, true);
        const text = Buffer.from(n.data).toString();
        const ms = performance.now() - (sent.get(text) ?? 0);
        latencies.push(ms);
        say(`  peer ${i + 1} notified: "${text}" after ${ms.toFixed(1)} ms`);
      });
      c.notify(1337);
    }
    const announcer = await GossipApiClient.connect(nodes[0]!.apiAddress!);
    clients.push(announcer);
    await new Promise((r) => setTimeout(r, 100));
    for (let k = 1; k <= items; k++) {
      const text = `hello from peer 1, item ${k}`;
      sent.set(text, performance.now());
      say(`  peer 1 announces "${text}" (type 1337, TTL 0)`);
      announcer.announce(1337, Buffer.from(text), 0);
      await new Promise((r) => setTimeout(r, 150));
    }
    const expected = peers * items;
    while (latencies.length < expected && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    return { peers, items, delivered: latencies.length, expected, latenciesMs: latencies, joinMs, powBits };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of services.reverse()) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
