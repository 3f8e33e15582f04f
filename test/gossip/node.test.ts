import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GossipApiClient } from '../../src/services/gossip/api-client.js';
import { MemoryHub } from '../../src/services/gossip/memory-transport.js';
import { GossipNode } from '../../src/services/gossip/node.js';
import type { Notification } from '../../src/wire/gossip-api.js';
import { memoryNodes, NODE_PARAMS, neighbours, until } from '../helpers/gossip-nodes.js';

test('the course test in one process: two notify clients, one announce, both notified and validated', async () => {
  const net = await memoryNodes(3);
  try {
    await until('every peer has a neighbour', () => net.peers.every((p) => neighbours(p) >= 1));
    await until('the peers are connected', () => net.peers.every((p) => neighbours(p) >= 2));
    const got: Notification[][] = [[], []];
    const clients = await Promise.all(
      [0, 1].map(async (i) => {
        const c = await GossipApiClient.connect(net.peers[i]!.apiAddress!);
        c.notify(1337);
        c.onNotification((n) => {
          got[i]!.push(n);
          c.validate(n.messageId, true);
        });
        return c;
      }),
    );
    const announcer = await GossipApiClient.connect(net.peers[2]!.apiAddress!);
    const ownNotifications: Notification[] = [];
    announcer.onNotification((n) => ownNotifications.push(n));
    await new Promise((r) => setTimeout(r, 50));
    announcer.notify(1337);
    announcer.announce(1337, Buffer.from('deadbeef'), 4);
    await until('both notified', () => got.every((g) => g.length >= 1));
    await new Promise((r) => setTimeout(r, 200));
    for (const g of got) {
      assert.equal(g.length, 1, 'exactly once');
      assert.equal(g[0]!.dataType, 1337);
      assert.equal(Buffer.from(g[0]!.data).toString(), 'deadbeef');
    }
    assert.equal(ownNotifications.length, 0, 'never back to the announcer');
    for (const p of net.peers.slice(0, 2)) assert.equal(p.counts().gossip_validated, 1);
    await Promise.all([...clients, announcer].map((c) => c.close()));
  } finally {
    await net.close();
  }
});

test('only verified peers are handed out by the bootstrapper', async () => {
  const net = await memoryNodes(4);
  try {
    await until('joined', () => net.peers.every((p) => neighbours(p) >= 1));
    const boot = net.boot.view();
    assert.ok(boot.known.length >= 4);
    for (const entry of boot.known) assert.ok(boot.verifiedIds.includes(entry.identity));
    assert.ok((net.boot.counts().gossip_peer_verified ?? 0) >= 4);
  } finally {
    await net.close();
  }
});

test('a failed verification solve reports back: the link is closed, not left "solving" (issue 8)', async () => {
  const hub = new MemoryHub(1);
  const boot = new GossipNode({
    params: NODE_PARAMS,
    identity: 'boot',
    transport: hub.transport('boot'),
    p2pAddress: { host: '10.0.0.254', port: 6001 },
    isBootstrapper: true,
  });
  const peer = new GossipNode({
    params: NODE_PARAMS,
    identity: 'peer-0',
    transport: hub.transport('peer-0'),
    p2pAddress: { host: '10.0.0.1', port: 6001 },
    bootstrapper: { host: '10.0.0.254', port: 6001 },
    // The pool refuses, as the core's solver does when it is full.
    solve: () => Promise.reject(new Error('pool busy')),
  });
  try {
    await boot.start();
    await peer.start();
    await until('the failed solve is counted', () => (peer.counts().ERR_GOSSIP_SOLVE_FAILED ?? 0) >= 1);
    await until('no link is left waiting for a solve', () => peer.view().links.every((l) => !l.solving));
  } finally {
    await Promise.all([boot.close(), peer.close()]);
  }
});
