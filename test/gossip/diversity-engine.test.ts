import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diversityLimits } from '../../src/protocol/gossip/diversity.js';
import type { Effect } from '../../src/protocol/gossip/engine.js';
import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { currentAnchors } from '../../src/protocol/gossip/peers.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import { simPow } from '../../src/services/gossip/pow.js';
import { enginePeer } from '../harness/engine-peer.js';

// diversity.ts wired into the engine (issue 10, item 5): inbound caps per address and group,
// eviction when the inbound places are full, and outbound dials however many inbound links.

const pow = simPow();
function engine(params: Partial<GossipParams> = {}) {
  return enginePeer({
    params: { ...GOSSIP_DEFAULTS, powBits: 8, degree: 4, keepPeriodMs: 0, ...params },
    random: seededRandom(5),
    verifyPow: pow.verify,
    identity: 'me',
    listen: { host: '10.0.0.1', port: 6001 },
  });
}

let nextLink = 1;
function inbound(e: ReturnType<typeof engine>, host: string, now = 0): { link: number; effects: Effect[] } {
  const link = nextLink++;
  const effects = e.step(
    { kind: 'peer-open', link, identity: `id-${link}`, remote: { host, port: 40_000 + link } },
    now,
  );
  return { link, effects };
}

const closes = (effects: Effect[]) =>
  effects.filter((x): x is Extract<Effect, { kind: 'peer-close' }> => x.kind === 'peer-close');

test('inbound caps: at most maxInboundPerAddress links from one IP, maxInboundPerGroup from one /16', () => {
  const e = engine();
  assert.deepEqual(closes(inbound(e, '10.9.0.1').effects), []);
  assert.deepEqual(closes(inbound(e, '10.9.0.1').effects), []);
  assert.deepEqual(
    closes(inbound(e, '10.9.0.1').effects).map((c) => c.code),
    ['ERR_GOSSIP_INBOUND_ADDRESS_CAP'],
  );
  assert.deepEqual(closes(inbound(e, '10.9.0.2').effects), []);
  assert.deepEqual(closes(inbound(e, '10.9.0.3').effects), []);
  assert.deepEqual(
    closes(inbound(e, '10.9.0.4').effects).map((c) => c.code),
    ['ERR_GOSSIP_INBOUND_GROUP_CAP'],
    'a fifth from the same /16',
  );
  assert.deepEqual(closes(inbound(e, '10.10.0.1').effects), [], 'another group is welcome');
  assert.equal(e.state.links.size, 5);
});

test('eviction: with the inbound places full, the newest link of the most crowded group makes room', () => {
  // maxLinks 6 - min(minOutbound 8, degree 4) = 2 inbound places.
  const e = engine({ maxLinks: 6 });
  const first = inbound(e, '10.9.0.1', 0);
  const second = inbound(e, '10.9.0.2', 10);
  const newcomer = inbound(e, '10.20.0.1', 20);
  assert.deepEqual(
    closes(newcomer.effects).map((c) => [c.link, c.code]),
    [[second.link, 'ERR_GOSSIP_EVICTED']],
  );
  assert.ok(e.state.links.has(first.link) && e.state.links.has(newcomer.link));
  // A link that brought an item first is spared: none left to evict, the newcomer is refused.
  for (const l of e.state.links.values()) l.lastUseful = 20;
  assert.deepEqual(
    closes(inbound(e, '10.30.0.1', 30).effects).map((c) => c.code),
    ['ERR_GOSSIP_TOO_MANY_LINKS'],
  );
});

test('a peer full of inbound links still dials minOutbound neighbours of its own choosing', () => {
  const e = engine({ degree: 4, maxLinks: 64 });
  for (let i = 0; i < 4; i++) inbound(e, `10.${40 + i}.0.1`);
  for (const l of e.state.links.values()) l.verified = true;
  for (let i = 0; i < 6; i++)
    e.state.candidates.set(`10.${60 + i}.0.1:6001`, { host: `10.${60 + i}.0.1`, port: 6001 });
  const dials = e.step({ kind: 'tick' }, 1_000).filter((x) => x.kind === 'dial' && !x.bootstrap);
  // Before: degree 4 reached by inbound links alone, no dial at all.
  assert.equal(dials.length, GOSSIP_DEFAULTS.maxDials);
});

test('anchors: the longest-verified outbound peers are remembered, and dialled first after a restart', () => {
  const e = engine({ degree: 4 });
  const dialled = (host: string, link: number, now: number) =>
    e.step({ kind: 'peer-open', link, identity: `out-${link}`, dialled: { host, port: 6001 } }, now);
  dialled('10.70.0.1', 901, 0);
  dialled('10.71.0.1', 902, 1_000);
  dialled('10.72.0.1', 903, 50 * 60_000);
  for (const l of e.state.links.values()) {
    l.verified = true;
    l.verifiedAt = l.openedAt;
  }
  const lim = { ...diversityLimits.defaults };
  // At 60 min: two verified for >= anchorMinAgeMs (30 min), the oldest first; the third is too young.
  assert.deepEqual(
    currentAnchors(e.state, 60 * 60_000, lim).map((a) => a.host),
    ['10.70.0.1', '10.71.0.1'],
  );
  // A restarted peer dials its anchors before any other candidate.
  const fresh = enginePeer({
    params: { ...GOSSIP_DEFAULTS, degree: 4, keepPeriodMs: 0, maxDials: 2 },
    random: seededRandom(9),
    verifyPow: pow.verify,
    identity: 'me',
    listen: { host: '10.0.0.1', port: 6001 },
    anchors: [
      { host: '10.70.0.1', port: 6001 },
      { host: '10.71.0.1', port: 6001 },
    ],
  });
  for (let i = 0; i < 20; i++)
    fresh.state.candidates.set(`10.${100 + i}.0.1:6001`, { host: `10.${100 + i}.0.1`, port: 6001 });
  const dials = fresh.step({ kind: 'tick' }, 0).filter((x) => x.kind === 'dial' && !x.bootstrap);
  assert.deepEqual(
    dials.map((d) => d.kind === 'dial' && d.address.host),
    ['10.70.0.1', '10.71.0.1'],
  );
});

test('a second link from a peer we keep (its probe) evicts nobody on its way to being closed', () => {
  const e = engine({ maxLinks: 6 });
  const first = inbound(e, '10.9.0.1', 0);
  const second = inbound(e, '10.9.0.2', 10);
  for (const l of e.state.links.values()) l.verified = true;
  // The peer on `first` dials us again from another address (a probe of our HELLO address).
  const again = e.step(
    {
      kind: 'peer-open',
      link: 999,
      identity: `id-${first.link}`,
      remote: { host: '10.50.0.1', port: 41_000 },
    },
    20,
  );
  assert.deepEqual(
    closes(again).map((c) => [c.link, c.code]),
    [[999, 'ERR_GOSSIP_DUPLICATE_LINK']],
  );
  assert.ok(e.state.links.has(first.link) && e.state.links.has(second.link), 'nobody evicted');
});
