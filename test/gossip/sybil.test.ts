import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressGroup,
  admitInbound,
  chooseAnchors,
  diversityLimits,
  type InboundLink,
  orderAcrossGroups,
  outboundTable,
  outboundTarget,
  pickOutbound,
} from '../../src/protocol/gossip/diversity.js';
import { GOSSIP_DEFAULTS } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import { enginePeer } from '../harness/engine-peer.js';
import { defaultCosts, runSybil, type SybilOptions } from '../harness/sybilnet.js';

const L = diversityLimits.defaults;

// A nominal machine (2^24 attempts/s) and a 0.1 ms handshake: the reduced network only needs
// the ratios between costs, and nothing here depends on the speed of the machine running it.
const costs = defaultCosts(2 ** 24, 2 ** 24 / 10_000);

function reduced(overrides: Partial<SybilOptions>): SybilOptions {
  return {
    honest: 100,
    groups: 25,
    k: 10,
    setting: 'keep',
    strategy: 'links',
    structure: true,
    costs,
    degree: 8,
    maxLinks: 24,
    limits: { ...L, minOutbound: 4 },
    warmupMs: 40 * 60_000,
    attackMs: 30 * 60_000,
    sampleMs: 60_000,
    seed: 3,
    ...overrides,
  };
}

test('addressGroup: IPv4 /16, IPv6 /32', () => {
  assert.equal(addressGroup('10.1.2.3'), '10.1');
  assert.equal(addressGroup('10.1.200.9'), addressGroup('10.1.2.3'));
  assert.notEqual(addressGroup('10.2.2.3'), addressGroup('10.1.2.3'));
  assert.equal(addressGroup('2001:db8:1::1'), addressGroup('2001:db8:ffff::2'));
  assert.notEqual(addressGroup('2001:db9::1'), addressGroup('2001:db8::1'));
});

const link = (
  key: number,
  address: number,
  group: number,
  openedAt: number,
  useful = false,
): InboundLink<number> => ({
  key,
  address,
  group,
  openedAt,
  useful,
});

test('inbound caps: maxInboundPerAddress and maxInboundPerGroup admit up to the limit, refuse limit + 1', () => {
  const sameAddress = Array.from({ length: L.maxInboundPerAddress }, (_, i) => link(i, 7, 1, i));
  assert.deepEqual(admitInbound(sameAddress.slice(0, -1), 7, 1, 100, L), { ok: true, evict: undefined });
  assert.deepEqual(admitInbound(sameAddress, 7, 1, 100, L), {
    ok: false,
    code: 'ERR_GOSSIP_INBOUND_ADDRESS_CAP',
  });
  const sameGroup = Array.from({ length: L.maxInboundPerGroup }, (_, i) => link(i, 100 + i, 1, i));
  assert.deepEqual(admitInbound(sameGroup.slice(0, -1), 99, 1, 100, L), { ok: true, evict: undefined });
  assert.deepEqual(admitInbound(sameGroup, 99, 1, 100, L), {
    ok: false,
    code: 'ERR_GOSSIP_INBOUND_GROUP_CAP',
  });
});

test('a full peer evicts the newest link of its most crowded group, never a useful or long-lived one', () => {
  // Groups 1..6 useful (relayed items), group 9 three silent links (crowd), one old silent link.
  const inbound = [
    link(100, 100, 50, 0), // the oldest: in the protected quarter
    ...[1, 2, 3, 4, 5, 6].map((g) => link(g, g, g, 10 + g, true)),
    link(90, 90, 9, 20),
    link(91, 91, 9, 30),
    link(92, 92, 9, 25),
  ];
  const verdict = admitInbound(inbound, 500, 77, inbound.length, L);
  assert.deepEqual(verdict, { ok: true, evict: 91 });
  // Every link useful or protected: the newcomer is refused.
  const allUseful = inbound.map((l) => ({ ...l, useful: true }));
  assert.deepEqual(admitInbound(allUseful, 500, 77, inbound.length, L), {
    ok: false,
    code: 'ERR_GOSSIP_TOO_MANY_LINKS',
  });
});

test('outbound: at least minOutbound whatever the inbound count, one per group, anchors are the longest verified', () => {
  assert.equal(outboundTarget(30, 0, L), 30);
  assert.equal(outboundTarget(30, 100, L), L.minOutbound);
  const entries = Array.from({ length: 200 }, (_, i) => i);
  // Group 0 holds 150 entries (one crowded provider), 50 groups hold one each.
  const table = outboundTable(entries, (e) => (e < 150 ? 0 : e));
  const random = seededRandom(9);
  const used = new Set<number | string>();
  let crowd = 0;
  for (let i = 0; i < 51; i++) {
    const pick = pickOutbound(table, used, random);
    assert.ok(pick !== undefined);
    const g = pick < 150 ? 0 : pick;
    assert.ok(!used.has(g), 'never a second outbound link in one group');
    used.add(g);
    if (g === 0) crowd++;
  }
  assert.equal(crowd, 1, 'the crowded group weighs as much as any other');
  assert.equal(pickOutbound(table, used, random), undefined);
  const now = 10 * L.anchorMinAgeMs;
  const anchors = chooseAnchors(
    [
      { key: 'young', verifiedSince: now - 1 },
      { key: 'old', verifiedSince: 0 },
      { key: 'older', verifiedSince: -5 },
      { key: 'mid', verifiedSince: now - L.anchorMinAgeMs },
    ],
    now,
    L,
  );
  assert.deepEqual(anchors, ['older', 'old']);
});

test('reduced Sybil network (100 peers, k = 10), defaults: nobody eclipsed, every item delivered, identities bounded by KEEP', () => {
  const perMachine = (costs.hashRate * (costs.keepWindowMs / 1000)) / 2 ** costs.keepBits;
  for (const strategy of ['identities', 'links', 'eclipse'] as const) {
    const r = runSybil(reduced({ strategy }));
    assert.ok(r.samples.length >= 30);
    assert.ok(r.maxLinks > 0, `${strategy}: the attacker held links`);
    assert.equal(r.maxEclipsed, 0, `${strategy}: no honest peer without an honest neighbour`);
    assert.equal(r.minDelivery, 1, `${strategy}: every honest subscriber reached`);
    assert.ok(r.maxIdentities <= 10 * perMachine, `${strategy}: ${r.maxIdentities} identities alive`);
    if (strategy === 'eclipse') {
      assert.equal(r.victimEclipsed, false);
      assert.ok(r.victimMinHonest >= 1);
      assert.ok(r.victimMaxAttackerLinks > 0, 'the victim was attacked');
    }
  }
});

test('reduced Sybil network without the structural defences: the same attacker eclipses (the defences are what hold)', () => {
  const eclipse = runSybil(reduced({ strategy: 'eclipse', structure: false }));
  assert.equal(eclipse.victimEclipsed, true, 'the victim lost every honest neighbour');
  const withStructure = runSybil(reduced({ strategy: 'eclipse' }));
  assert.equal(withStructure.victimEclipsed, false);
});

test('without KEEP the identities an attacker holds grow with time; with KEEP they stay under its hash power', () => {
  const verify = runSybil(reduced({ setting: 'verify', strategy: 'identities' }));
  const keep = runSybil(reduced({ setting: 'keep', strategy: 'identities' }));
  const first = verify.samples[1]!.identities;
  const last = verify.samples.at(-1)!.identities;
  assert.ok(last > first, `verification only: ${first} -> ${last}`);
  assert.ok(keep.maxIdentities < verify.maxIdentities);
});

test('the engine dials one address per group before a second in any group (a /16 full of Sybils is one choice)', () => {
  const engine = enginePeer({
    params: { ...GOSSIP_DEFAULTS, degree: 6, maxDials: 6 },
    random: seededRandom(4),
    verifyPow: () => true,
    identity: 'me',
    listen: { host: '192.0.2.1', port: 6001 },
  });
  // 200 addresses of one attacker /16 and 5 honest peers in 5 other groups, all known.
  const known = engine.state.known;
  for (let i = 0; i < 200; i++) {
    const address = { host: `203.0.${i >> 6}.${(i & 63) + 1}`, port: 6001 };
    known.set(`sybil-${i}`, { address, identity: `sybil-${i}`, group: address.host, lastSeen: 0 });
  }
  for (let g = 1; g <= 5; g++) {
    const address = { host: `198.${g}.0.1`, port: 6001 };
    known.set(`honest-${g}`, { address, identity: `honest-${g}`, group: address.host, lastSeen: 0 });
  }
  const dials = engine.step({ kind: 'tick' }, 1_000).filter((e) => e.kind === 'dial');
  assert.equal(dials.length, 6);
  const groups = dials.map((d) => (d.kind === 'dial' ? addressGroup(d.address.host) : ''));
  assert.equal(new Set(groups).size, 6, `six groups: ${groups.join(', ')}`);
  assert.equal(groups.filter((g) => g === '203.0').length, 1);
});

test('orderAcrossGroups: every group not yet used once, first', () => {
  const entries = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const groupOf = (e: number) => e % 3;
  const order = orderAcrossGroups(entries, groupOf, new Set([0]), seededRandom(1));
  assert.deepEqual(new Set(order.slice(0, 2).map(groupOf)), new Set([1, 2]));
  assert.deepEqual([...order].sort(), entries);
});
