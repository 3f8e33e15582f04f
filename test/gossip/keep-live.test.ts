import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { identityKey } from '../../src/secure/keys.js';
import { GossipNode } from '../../src/services/gossip/node.js';
import { solveVerification } from '../../src/services/gossip/pow.js';
import { TcpSecureTransport } from '../../src/services/gossip/tcp-transport.js';
import { OpenTrust } from '../../src/services/gossip/trust.js';
import { neighbours, until } from '../helpers/gossip-nodes.js';

// KEEP rounds between real peers (TCP, CONN, the secure channel, the worker pool): each pays
// one PoW per round and keeps its links; a peer that stops paying is torn down by the others.

const PARAMS: GossipParams = {
  ...GOSSIP_DEFAULTS,
  degree: 4,
  powBits: 8,
  heartbeatMs: 20,
  joinRetryMs: 200,
  keepBits: 12,
  keepPeriodMs: 3_000,
  keepWindowMs: 1_500,
  keepCollectMs: 500,
  keepSkewMs: 200,
};

function node(name: string, opts: { boot?: { host: string; port: number }; refuseKeep?: () => boolean }) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = identityKey(privateKey);
  return new GossipNode({
    params: PARAMS,
    identity: key.identity,
    transport: new TcpSecureTransport({ key, trust: new OpenTrust(64) }),
    p2pAddress: { host: '127.0.0.1', port: 0 },
    ...(opts.boot === undefined
      ? { isBootstrapper: true }
      : { apiAddress: { host: '127.0.0.1', port: 0 }, bootstrapper: opts.boot }),
    // The KEEP puzzle's challenge is 32 bytes (a digest); the verification prefix is 44.
    solve: (prefix, bits, signal) =>
      prefix.length === 32 && opts.refuseKeep?.() === true
        ? Promise.reject(new Error(`${name} stopped paying`))
        : solveVerification(prefix, bits, signal),
  });
}

test('KEEP live: peers pay one PoW per round and keep their link; a peer that stops paying is torn down', async () => {
  const boot = node('boot', {});
  const { p2p } = await boot.start();
  let stop = false;
  const a = node('a', { boot: p2p });
  const b = node('b', { boot: p2p, refuseKeep: () => stop });
  try {
    await a.start();
    await b.start();
    await until('a and b linked', () => neighbours(a) === 1 && neighbours(b) === 1, 30_000);
    // Two rounds later both have paid at least once, and nobody tore anything down.
    const solves = (n: GossipNode) => n.counts().gossip_keep_solves ?? 0;
    await until('both paid a round', () => solves(a) >= 1 && solves(b) >= 1, 15_000);
    const missingBefore = a.counts().ERR_GOSSIP_KEEP_MISSING ?? 0;
    assert.equal(missingBefore, 0, JSON.stringify(a.counts()));
    assert.equal(neighbours(a), 1);
    // b stops paying: a tears the link down at the end of the next window.
    stop = true;
    await until('a tore b down', () => (a.counts().ERR_GOSSIP_KEEP_MISSING ?? 0) >= 1, 15_000);
    assert.equal(b.counts().ERR_GOSSIP_KEEP_MISSING ?? 0, 0, 'a kept paying: b has no reason to');
  } finally {
    await Promise.all([a.close(), b.close(), boot.close()]);
  }
});
