import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leadingZeroBits, sha256BitsHash, verifySha256Bits } from '../../src/pow/sha256-bits.js';
import {
  checkKeepParams,
  type KeepBook,
  type KeepDeps,
  type KeepEffect,
  type KeepParams,
  keepSolved,
  keepTick,
  newKeepBook,
  onKeepChall,
  onKeepPow,
} from '../../src/protocol/gossip/keep.js';
import { GOSSIP_DEFAULTS } from '../../src/protocol/gossip/limits.js';
import { decodeP2P, encodeP2P, GOSSIP_KEEP_CHALL, GOSSIP_KEEP_POW } from '../../src/wire/gossip-p2p.js';

// KEEP rounds (seed 000 "Continuously asking for PoW") as pure logic under a fake clock:
// peers are KeepBooks, messages are delivered by hand, PoWs are solved at 8 bits.

const PARAMS: KeepParams = {
  keepBits: 8,
  keepPeriodMs: 60_000,
  keepWindowMs: 5_000,
  keepCollectMs: 1_500,
  keepSkewMs: 1_000,
  keepMaxChalls: 64,
};
const T0 = 1_000 * 60_000; // the start of round 1000

let counter = 0;
function deps(identity: string, params: KeepParams = PARAMS): KeepDeps {
  return {
    params,
    identity,
    randomChall: () => {
      const out = new Uint8Array(16);
      new DataView(out.buffer).setUint32(12, ++counter);
      out[0] = counter % 251;
      return out;
    },
    verifyPow: (challenge, nonce, bits) => verifySha256Bits({ challenge, difficulty: bits }, nonce),
  };
}

function solve(challenge: Uint8Array, bits: number): bigint {
  for (let n = 0n; ; n++) if (leadingZeroBits(sha256BitsHash(challenge, n)) >= bits) return n;
}

const addr = (i: number) => ({ addr: Uint8Array.of(10, 0, 0, i), port: 7000 + i });

/** A peer: its book, its clock offset, and its links (link id -> the peer at the other end). */
interface Peer {
  readonly name: string;
  readonly book: KeepBook;
  readonly deps: KeepDeps;
  offset: number;
  readonly links: Map<number, { peer: Peer; back: number; since: number }>;
  readonly closed: { link: number; code: string; at: number }[];
  readonly counts: string[];
  solves: number;
}

function peer(name: string, params: KeepParams = PARAMS): Peer {
  return {
    name,
    book: newKeepBook(),
    deps: deps(name, params),
    offset: 0,
    links: new Map(),
    closed: [],
    counts: [],
    solves: 0,
  };
}

let nextLink = 1;
function link(a: Peer, b: Peer, since = 0): void {
  const ab = nextLink++;
  const ba = nextLink++;
  a.links.set(ab, { peer: b, back: ba, since });
  b.links.set(ba, { peer: a, back: ab, since });
}

/** Runs every peer's clock from `from` to `to` in 100 ms heartbeats, delivering at once. */
function run(
  peers: Peer[],
  from: number,
  to: number,
  opts: { silent?: Set<Peer>; tamper?: (f: Uint8Array) => Uint8Array } = {},
): void {
  const inbox: { to: Peer; link: number; frame: Uint8Array }[] = [];
  const apply = (p: Peer, effects: KeepEffect[], now: number) => {
    for (const e of effects) {
      if (e.kind === 'send') {
        const l = p.links.get(e.link);
        if (l !== undefined) inbox.push({ to: l.peer, link: l.back, frame: e.frame });
      } else if (e.kind === 'close') {
        p.closed.push({ link: e.link, code: e.code, at: now });
        const l = p.links.get(e.link);
        p.links.delete(e.link);
        l?.peer.links.delete(l.back);
      } else if (e.kind === 'count') {
        p.counts.push(e.code);
      } else if (e.kind === 'solve') {
        p.solves++;
        if (opts.silent?.has(p)) continue;
        const nonce = solve(e.challenge, e.bits);
        apply(
          p,
          keepSolved(e.pow, nonce, e.links, (id) => p.links.has(id)),
          now,
        );
      }
    }
  };
  for (let t = from; t <= to; t += 100) {
    for (const p of peers) {
      const now = t + p.offset;
      const views = [...p.links].map(([id, l]) => ({
        id,
        identity: l.peer.name,
        // Only links that existed at the round's start are neighbours then.
        challenged: l.since <= now,
        ours: addr(peers.indexOf(p) + 1),
        theirs: addr(peers.indexOf(l.peer) + 1),
      }));
      apply(p, keepTick(p.book, views, now, p.deps), now);
    }
    while (inbox.length > 0) {
      const m = inbox.shift()!;
      const now = t + m.to.offset;
      const frame = opts.tamper ? opts.tamper(m.frame) : m.frame;
      const v = decodeP2P(frame);
      assert.ok(v.ok);
      if (!v.ok || !m.to.links.has(m.link)) continue;
      const from = m.to.links.get(m.link)!.peer.name;
      if (v.value.type === GOSSIP_KEEP_CHALL)
        apply(m.to, onKeepChall(m.to.book, m.link, v.value, now, m.to.deps), now);
      else if (v.value.type === GOSSIP_KEEP_POW)
        apply(m.to, onKeepPow(m.to.book, m.link, from, v.value, frame, now, m.to.deps), now);
    }
  }
}

test('KEEP: three peers pay one PoW each per round and keep every link, round after round', () => {
  const [a, b, c] = [peer('a'), peer('b'), peer('c')];
  link(a, b);
  link(b, c);
  link(a, c);
  run([a, b, c], T0 - 500, T0 + 3 * 60_000);
  for (const p of [a, b, c]) {
    assert.deepEqual(p.closed, [], p.name);
    assert.equal(p.links.size, 2);
    // Rounds 1000..1002 (999 was joined late): one solve per round, whatever the degree.
    assert.equal(p.solves, 3, p.name);
  }
});

test('KEEP: a neighbour that stops paying is torn down at the end of the window plus the skew, not before', () => {
  const [a, b] = [peer('a'), peer('b')];
  link(a, b);
  run([a, b], T0 - 500, T0 + 60_000 + 6_000 - 100, { silent: new Set([b]) });
  // Round 1000: b is silent; a closes exactly at t0 + window + skew.
  assert.equal(a.closed.length, 1);
  assert.equal(a.closed[0]!.code, 'ERR_GOSSIP_KEEP_MISSING');
  assert.equal(a.closed[0]!.at, T0 + 5_000 + 1_000);
  assert.equal(b.links.size, 0);
});

test('KEEP: a link made mid-round owes nothing that round; it is challenged from the next', () => {
  const [a, b] = [peer('a'), peer('b')];
  link(a, b, T0 + 2_000);
  run([a, b], T0 - 500, T0 + 30_000, { silent: new Set([b]) });
  assert.deepEqual(a.closed, [], 'not challenged in the round it joined');
  run([a, b], T0 + 30_100, T0 + 60_000 + 6_000, { silent: new Set([b]) });
  const closed: { code: string }[] = a.closed;
  assert.equal(closed[0]?.code, 'ERR_GOSSIP_KEEP_MISSING', 'challenged in the next round');
});

test('KEEP: clocks up to keepSkewMs apart keep their link; further apart they lose it', () => {
  for (const [offset, kept] of [
    [900, true],
    [-900, true],
    [2_600, false],
  ] as const) {
    const [a, b] = [peer('a'), peer('b')];
    b.offset = offset;
    link(a, b);
    run([a, b], T0 - 4_000, T0 + 60_000 + 8_000);
    assert.equal(
      a.closed.length === 0 && b.closed.length === 0,
      kept,
      `offset ${offset}: ${JSON.stringify([a.closed, b.closed, a.counts, b.counts])}`,
    );
  }
});

test('KEEP: more KEEP_CHALLs than keepMaxChalls are proven by one PoW per keepMaxChalls', () => {
  const params = { ...PARAMS, keepMaxChalls: 2 };
  const hub = peer('hub', params);
  const spokes = [1, 2, 3, 4, 5].map((i) => peer(`s${i}`, params));
  for (const s of spokes) link(hub, s);
  run([hub, ...spokes], T0 - 500, T0 + 10_000);
  assert.equal(hub.solves, 3, 'five challenges, two per PoW');
  for (const p of [hub, ...spokes]) assert.deepEqual(p.closed, [], p.name);
});

function pair(): { a: Peer; b: Peer; chall: Uint8Array; frame: Uint8Array } {
  const [a, b] = [peer('a'), peer('b')];
  link(a, b);
  // a starts round 1000: its KEEP_CHALL to b.
  const effects = keepTick(
    a.book,
    [{ id: [...a.links.keys()][0]!, identity: 'b', challenged: true, ours: addr(1), theirs: addr(2) }],
    T0,
    a.deps,
  );
  const send = effects.find((e) => e.kind === 'send');
  assert.ok(send?.kind === 'send');
  return { a, b, chall: send.kind === 'send' ? send.frame : new Uint8Array(), frame: new Uint8Array() };
}

function proofFor(prover: string, challFrames: Uint8Array[], bits = 8, badNonce = false) {
  const entries = challFrames
    .map((f) => {
      const v = decodeP2P(f);
      assert.ok(v.ok && v.value.type === GOSSIP_KEEP_CHALL);
      return v.ok && v.value.type === GOSSIP_KEEP_CHALL ? v.value.entry : undefined!;
    })
    .sort((x, y) => Buffer.compare(x.chall, y.chall));
  const pow = { type: GOSSIP_KEEP_POW, round: 1000n, nonce: 0n, entries } as const;
  const challenge = sha(prover, pow);
  let nonce = solve(challenge, bits);
  if (badNonce) while (leadingZeroBits(sha256BitsHash(challenge, nonce)) >= bits) nonce++;
  const frame = encodeP2P({ ...pow, nonce });
  const v = decodeP2P(frame);
  assert.ok(v.ok && v.value.type === GOSSIP_KEEP_POW);
  return { msg: v.ok && v.value.type === GOSSIP_KEEP_POW ? v.value : undefined!, frame };
}

import { keepPowChallenge } from '../../src/wire/gossip-p2p.js';

function sha(prover: string, pow: Parameters<typeof encodeP2P>[0]): Uint8Array {
  return keepPowChallenge(prover, encodeP2P(pow));
}

function otherChall(): Uint8Array {
  return encodeP2P({
    type: GOSSIP_KEEP_CHALL,
    round: 1000n,
    entry: { chall: new Uint8Array(16).fill(0xee), challenger: addr(3), prover: addr(2) },
  });
}

test("KEEP: a KEEP_POW is refused when it lacks our KEEP_CHALL, lists too many, misses the bits, or is another identity's", () => {
  const cases: [
    string,
    (chall: Uint8Array) => { msg: ReturnType<typeof proofFor>['msg']; frame: Uint8Array },
    string,
  ][] = [
    ['our KEEP_CHALL is not in the list', () => proofFor('b', [otherChall()]), 'ERR_GOSSIP_KEEP_INVALID'],
    ['the PoW misses keep_bits', (c) => proofFor('b', [c], 8, true), 'ERR_GOSSIP_KEEP_INVALID'],
    ['solved for another identity (not bound to b)', (c) => proofFor('x', [c]), 'ERR_GOSSIP_KEEP_INVALID'],
  ];
  for (const [name, make, code] of cases) {
    const { a, chall } = pair();
    const { msg, frame } = make(chall);
    const effects = onKeepPow(a.book, [...a.links.keys()][0]!, 'b', msg, frame, T0 + 2_000, a.deps);
    assert.deepEqual(
      effects.map((e) => e.kind === 'close' && e.code),
      [code],
      name,
    );
  }
  // Over keepMaxChalls entries.
  const { a, chall } = pair();
  const tight = { ...a.deps, params: { ...PARAMS, keepMaxChalls: 1 } };
  const { msg, frame } = proofFor('b', [chall, otherChall()]);
  const effects = onKeepPow(a.book, [...a.links.keys()][0]!, 'b', msg, frame, T0 + 2_000, tight);
  assert.deepEqual(
    effects.map((e) => e.kind === 'close' && e.code),
    ['ERR_GOSSIP_KEEP_INVALID'],
  );
  // The right one is accepted, once.
  const ok = pair();
  const good = proofFor('b', [ok.chall, otherChall()]);
  const linkId = [...ok.a.links.keys()][0]!;
  assert.deepEqual(onKeepPow(ok.a.book, linkId, 'b', good.msg, good.frame, T0 + 2_000, ok.a.deps), []);
  assert.deepEqual(
    onKeepPow(ok.a.book, linkId, 'b', good.msg, good.frame, T0 + 2_100, ok.a.deps).map(
      (e) => e.kind === 'count' && e.code,
    ),
    ['ERR_GOSSIP_KEEP_UNSOLICITED'],
  );
});

test('KEEP: a KEEP_CHALL for a round already solved, or far in the future, is not listed', () => {
  const b = peer('b');
  b.book.solvedRound = 1000;
  const chall = decodeP2P(otherChall());
  assert.ok(chall.ok && chall.value.type === GOSSIP_KEEP_CHALL);
  if (!chall.ok || chall.value.type !== GOSSIP_KEEP_CHALL) return;
  assert.deepEqual(
    onKeepChall(b.book, 1, chall.value, T0 + 3_000, b.deps).map((e) => e.kind === 'count' && e.code),
    ['ERR_GOSSIP_KEEP_ROUND'],
  );
  const early = newKeepBook();
  assert.deepEqual(
    onKeepChall(early, 1, chall.value, T0 - 5_000, b.deps).map((e) => e.kind === 'count' && e.code),
    ['ERR_GOSSIP_KEEP_ROUND'],
  );
  assert.deepEqual(onKeepChall(early, 1, chall.value, T0 - 500, b.deps), [], 'within the skew');
  assert.deepEqual(
    onKeepChall(early, 1, chall.value, T0, b.deps).map((e) => e.kind === 'count' && e.code),
    ['ERR_GOSSIP_KEEP_UNSOLICITED'],
    'one per link and round',
  );
});

test('KEEP: the defaults leave time to solve and do not overlap rounds', () => {
  assert.equal(checkKeepParams(GOSSIP_DEFAULTS), undefined);
  assert.equal(checkKeepParams({ ...PARAMS, keepCollectMs: 4_500 })?.key, 'keepWindowMs');
  assert.equal(checkKeepParams({ ...PARAMS, keepPeriodMs: 5_500 })?.key, 'keepPeriodMs');
});
