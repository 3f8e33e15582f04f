import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GossipApiClient } from '../../src/services/gossip/api-client.js';
import { startObservability } from '../../src/services/observability.js';
import { memoryNodes, until } from '../helpers/gossip-nodes.js';

// Issue 8: a peer that drops items says so in its metrics; gauges show links and queue depths.
test('gossip metrics: items dropped by reason, announced items, links and queue depth', async () => {
  const obs = await startObservability({ services: ['gossip', 'bootstrap'], write: () => {} });
  const net = await memoryNodes(2);
  try {
    const client = await GossipApiClient.connect(net.peers[0]!.apiAddress!);
    client.announce(1337, new Uint8Array(65_535 - 8), 4);
    client.announce(1337, Buffer.from('fits'), 4);
    await until('both announcements handled', () => (net.peers[0]!.counts().gossip_announced ?? 0) >= 1);
    const text = await obs.metricsText();
    assert.match(text, /tollgate_gossip_items_dropped_total\{reason="ERR_GOSSIP_ITEM_TOO_LARGE"\} 1/);
    assert.match(text, /tollgate_gossip_announced_total 1/);
    assert.match(text, /tollgate_gossip_queue_depth \d+/);
    assert.match(text, /tollgate_bootstrap_links \d+/);
    await client.close();
  } finally {
    await net.close();
    await obs.close();
  }
});
