/**
 * Hole punching for real (issue 11 item 3): two earth nodes behind NATs made in network
 * namespaces of this test (bench/punch/netns.ts), a sky node between them. Skipped, saying
 * why, where namespaces cannot be made (not root, no iproute2/nftables); CI runs as root.
 * The namespaces are deleted after the tests, and also if this process dies or is
 * interrupted (NatLab.up); every agent exits when this process goes away (agent.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type NatKind, NatLab, netnsUnavailable } from '../../bench/punch/netns.js';
import { punchPair } from '../../bench/punch/run.js';

const why = netnsUnavailable();
const T = {
  timeout: 240_000,
  ...(why === undefined ? {} : { skip: `cannot make network namespaces here: ${why}` }),
};
const lab = new NatLab();

before(() => {
  if (why === undefined) lab.up();
});
after(() => {
  if (why === undefined) lab.down();
});

// Every pair where neither side is symmetric, each NAT kind on each side (the initiator is a
// fresh node, with a fresh mapping, at every try; the responder keeps its sky port).
const NON_SYMMETRIC: [NatKind, NatKind][] = [
  ['eim', 'eim'],
  ['eim', 'adm'],
  ['adm', 'eim'],
  ['adm', 'adm'],
];

for (const [a, b] of NON_SYMMETRIC) {
  test(`behind ${a} x ${b} NATs, the punch connects every time`, T, async () => {
    const tries = await punchPair(lab, a, b, 3, 1_500, false);
    assert.equal(tries.length, 3);
    for (const t of tries)
      assert.deepEqual([t.ok, t.via, t.status], [true, 'punch', 'delivered'], JSON.stringify(t));
  });
}

test(
  'an address-dependent NAT whose mapping toward the peer leaves the dialled block: no punch, the holder relays',
  T,
  async () => {
    // adm-wide puts the mapping toward the peer in another 256-port block than the one the sky
    // node saw, always (netns.ts): the unfavourable case, reported as it is.
    const punched = await punchPair(lab, 'eim', 'adm-wide', 2, 1_000, false);
    assert.equal(punched.length, 2);
    for (const t of punched)
      assert.deepEqual([t.ok, t.code], [false, 'ERR_EARTH_UNREACHABLE'], JSON.stringify(t));
    const relayed = await punchPair(lab, 'eim', 'adm-wide', 2, 1_000, true);
    for (const t of relayed)
      assert.deepEqual([t.ok, t.via, t.status], [true, 'holder', 'relayed'], JSON.stringify(t));
  },
);

test(
  'a symmetric NAT defeats the punch; the message is relayed by an earth node, not the sky node',
  T,
  async () => {
    // The symmetric side's mapping toward us is a random port in 1024-65535; the 256 ports we
    // dial hit it by chance once in ~250 tries, so one lucky try is a punch, not an error.
    const punched = await punchPair(lab, 'eim', 'apdm', 2, 1_000, false);
    assert.equal(punched.length, 2);
    for (const t of punched)
      assert.ok(t.ok ? t.via === 'punch' : t.code === 'ERR_EARTH_UNREACHABLE', JSON.stringify(t));
    assert.ok(
      punched.some((t) => !t.ok),
      'both tries punched through a symmetric NAT',
    );
    const relayed = await punchPair(lab, 'eim', 'apdm', 2, 1_000, true);
    for (const t of relayed) {
      assert.equal(t.ok, true, JSON.stringify(t));
      assert.ok(
        (t.via === 'holder' && t.status === 'relayed') || (t.via === 'punch' && t.status === 'delivered'),
        JSON.stringify(t),
      );
    }
    assert.ok(relayed.some((t) => t.via === 'holder'));
  },
);
