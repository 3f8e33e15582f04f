/**
 * Hole punching for real (issue 11 item 3): two earth nodes behind NATs made in network
 * namespaces of this test (bench/punch/netns.ts), a sky node between them. Skipped, saying
 * why, where namespaces cannot be made (not root, no iproute2/nftables); CI runs as root.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NatLab, netnsUnavailable } from '../../bench/punch/netns.js';
import { punchPair } from '../../bench/punch/run.js';

const why = netnsUnavailable();
const T = {
  timeout: 180_000,
  ...(why === undefined ? {} : { skip: `cannot make network namespaces here: ${why}` }),
};
const lab = new NatLab();

before(() => {
  if (why === undefined) lab.up();
});
after(() => {
  if (why === undefined) lab.down();
});

test('behind two endpoint-independent NATs, the punch connects every time', T, async () => {
  const tries = await punchPair(lab, 'eim', 'eim', 3, 1_500, false);
  assert.equal(tries.length, 3);
  for (const t of tries)
    assert.deepEqual([t.ok, t.via, t.status], [true, 'punch', 'delivered'], JSON.stringify(t));
});

test(
  'a symmetric NAT defeats the punch; the message is relayed by an earth node, not the sky node',
  T,
  async () => {
    const punched = await punchPair(lab, 'eim', 'apdm', 2, 1_000, false);
    for (const t of punched) assert.equal(t.ok, false, JSON.stringify(t));
    const relayed = await punchPair(lab, 'eim', 'apdm', 2, 1_000, true);
    for (const t of relayed)
      assert.deepEqual([t.ok, t.via, t.status], [true, 'holder', 'relayed'], JSON.stringify(t));
  },
);
