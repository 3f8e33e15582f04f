import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KnowledgeCache, SeenSet } from '../../src/protocol/gossip/cache.js';
import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import type { Effect } from '../../src/protocol/gossip/state.js';
import { simPow } from '../../src/services/gossip/pow.js';
import { PriorityEventQueue } from '../../src/services/gossip/queue.js';
import { encodeApi, GOSSIP_NOTIFICATION } from '../../src/wire/gossip-api.js';
import {
  encodeP2P,
  GOSSIP_IHAVE,
  GOSSIP_PUSH,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
  itemId,
  readU64,
  verificationBinding,
  verificationPowPrefix,
} from '../../src/wire/gossip-p2p.js';
import { enginePeer } from '../harness/engine-peer.js';

const item = (n: number, bytes = 10) => {
  const data = new Uint8Array(bytes).fill(n & 0xff);
  const id = itemId(n, 0n, data);
  return {
    key: Buffer.from(id).toString('hex'),
    id,
    dataType: n,
    data,
    salt: 0n,
    ttl: 0,
    acceptedAt: 0,
    ihaveRounds: 0,
    told: new Set<number>(),
    sentTo: new Set<number>(),
    served: new Map<number, number>(),
  };
};

test('knowledge cache: cache_size items; item cache_size + 1 drops the oldest', () => {
  const cache = new KnowledgeCache(3, 1_000);
  for (let i = 0; i < 3; i++) cache.add(item(i));
  assert.equal(cache.size, 3);
  cache.add(item(3));
  assert.equal(cache.size, 3);
  assert.equal(cache.get(item(0).key), undefined, 'oldest dropped first');
  assert.ok(cache.get(item(3).key));
});

test('knowledge cache: cache_bytes; one byte over drops the oldest; an item over the budget alone is refused', () => {
  const cache = new KnowledgeCache(100, 30);
  cache.add(item(1, 10));
  cache.add(item(2, 10));
  cache.add(item(3, 10));
  assert.equal(cache.byteSize, 30);
  cache.add(item(4, 1));
  assert.equal(cache.byteSize, 21);
  assert.equal(cache.get(item(1).key), undefined);
  assert.equal(cache.add(item(5, 31)), false);
  assert.equal(cache.add(item(6, 30)), true);
  assert.equal(cache.size, 1);
});

test('seen set: bounded by time, and at max_seen + 1 the new id is refused, old ones kept', () => {
  const seen = new SeenSet(1_000, 2);
  assert.ok(seen.add('a', 0));
  assert.ok(seen.add('b', 10));
  assert.equal(seen.add('c', 20), false, 'max_seen + 1 refused');
  assert.ok(seen.has('a', 999));
  assert.equal(seen.has('a', 1_000), false, 'expired at ttl');
  assert.ok(seen.add('c', 1_000), 'room again once a expired');
  assert.ok(seen.has('b', 1_000));
});

test('priority queue: VALIDATIONs jump the queue; the normal lane drops at its limit + 1; kept events pass', () => {
  const q = new PriorityEventQueue<string>(2);
  assert.ok(q.push('p2p-1', false));
  assert.ok(q.push('p2p-2', false));
  assert.equal(q.push('p2p-3', false), false);
  assert.ok(q.push('api-announce', false, true));
  assert.ok(q.push('validation', true));
  assert.deepEqual(
    [q.shift(), q.shift(), q.shift(), q.shift(), q.shift()],
    ['validation', 'p2p-1', 'p2p-2', 'api-announce', undefined],
  );
  assert.equal(q.dropped, 1);
});

// A two-engine harness: A and B linked directly, every effect inspected.
const PARAMS: GossipParams = { ...GOSSIP_DEFAULTS, powBits: 8, degree: 4 };
const pow = simPow();
function engine(name: string, params: GossipParams = PARAMS) {
  return enginePeer({
    params,
    random: seededRandom(name.length * 31 + 7),
    verifyPow: pow.verify,
    identity: name,
    listen: { host: name === 'A' ? '10.0.0.1' : '10.0.0.2', port: 6001 },
  });
}
const sends = (effects: Effect[], type?: number) =>
  effects.filter(
    (e): e is Extract<Effect, { kind: 'peer-send' }> =>
      e.kind === 'peer-send' && (type === undefined || ((e.frame[2]! << 8) | e.frame[3]!) === type),
  );

/** Opens link 1 on B from A and runs the verification of A by B; returns B with A verified. */
function verifiedB(params: GossipParams = PARAMS) {
  const b = engine('B', params);
  const opened = b.step({ kind: 'peer-open', link: 1, identity: 'A' }, 0);
  const req = sends(opened, GOSSIP_VERIFICATION_REQUEST)[0]!;
  const nonce = readU64(req.frame, 4);
  const solution = pow.solve(verificationPowPrefix(nonce, verificationBinding('B', 'A')), params.powBits);
  const frame = encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution });
  b.step({ kind: 'peer-message', link: 1, frame }, 1);
  assert.ok(b.state.links.get(1)!.verified);
  return b;
}

test('a PUSH from a peer that has not proven its PoW is dropped', () => {
  const b = engine('B');
  b.step({ kind: 'api-open', conn: 1 }, 0);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 0);
  b.step({ kind: 'peer-open', link: 1, identity: 'A' }, 0);
  const data = Buffer.from('x');
  const effects = b.step(
    {
      kind: 'peer-message',
      link: 1,
      frame: encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 7, id: itemId(7, 0n, data), salt: 0n, data }),
    },
    1,
  );
  assert.equal(effects.length, 0);
  assert.equal(b.state.counters.ERR_GOSSIP_UNVERIFIED, 1);
});

test('a VERIFICATION RESPONSE below the difficulty closes the link; an unsolicited one is dropped', () => {
  const b = engine('B');
  const opened = b.step({ kind: 'peer-open', link: 1, identity: 'A' }, 0);
  const nonce = readU64(sends(opened, GOSSIP_VERIFICATION_REQUEST)[0]!.frame, 4);
  const wrongNonce = encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce: nonce ^ 1n, challenge: 0n });
  assert.equal(b.step({ kind: 'peer-message', link: 1, frame: wrongNonce }, 1).length, 0);
  assert.equal(b.state.counters.ERR_GOSSIP_UNSOLICITED, 1);
  // Find a solution that fails 8 bits (most do).
  let bad = 0n;
  while (pow.verify(verificationPowPrefix(nonce, verificationBinding('B', 'A')), bad, 8)) bad++;
  const effects = b.step(
    {
      kind: 'peer-message',
      link: 1,
      frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: bad }),
    },
    2,
  );
  assert.deepEqual(
    effects.map((e) => e.kind),
    ['peer-close'],
  );
  assert.equal(b.state.counters.ERR_GOSSIP_POW_INVALID, 1);
  assert.equal(b.state.links.size, 0);
});

test('maxSolvesPerLink: the request after the limit closes the link', () => {
  const a = engine('A');
  a.step({ kind: 'peer-open', link: 1, identity: 'B', dialled: { host: '10.0.0.2', port: 6001 } }, 0);
  const ask = (n: bigint, t: number) =>
    a.step(
      { kind: 'peer-message', link: 1, frame: encodeP2P({ type: GOSSIP_VERIFICATION_REQUEST, nonce: n }) },
      t,
    );
  for (let i = 0; i < PARAMS.maxSolvesPerLink; i++) {
    const e = ask(BigInt(i + 1), i);
    assert.equal(e[0]?.kind, 'solve');
    a.step({ kind: 'solved', link: 1, nonce: BigInt(i + 1), solution: 0n }, i);
  }
  assert.equal(ask(99n, 10)[0]?.kind, 'peer-close');
  assert.equal(a.state.counters.ERR_GOSSIP_TOO_MANY_REQUESTS, 1);
});

test('invalidLimit: the invalidLimit-th invalid item closes the link and forgets the peer', () => {
  const b = verifiedB({ ...PARAMS, invalidLimit: 2 });
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  for (let i = 0; i < 2; i++) {
    const data = Buffer.from(`bad ${i}`);
    const effects = b.step(
      {
        kind: 'peer-message',
        link: 1,
        frame: encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 7, id: itemId(7, 0n, data), salt: 0n, data }),
      },
      3 + i,
    );
    const note = effects.find((e) => e.kind === 'api-send')!;
    assert.equal(note.kind === 'api-send' && (note.frame[2]! << 8) | note.frame[3]!, GOSSIP_NOTIFICATION);
    const messageId = note.kind === 'api-send' ? (note.frame[4]! << 8) | note.frame[5]! : -1;
    const out = b.step({ kind: 'api-message', conn: 1, msg: { type: 503, messageId, valid: false } }, 4 + i);
    assert.equal(
      out.some((e) => e.kind === 'peer-close'),
      i === 1,
      `item ${i + 1}`,
    );
  }
  assert.equal(b.state.links.size, 0);
  assert.equal(b.state.verifiedIds.has('A'), false, 'must prove its PoW again');
  // Two items rejected, and the link closed for the same reason.
  assert.equal(b.state.counters.ERR_GOSSIP_INVALID_ITEM, 3);
});

test('maxPending: the item after the limit is dropped and not marked seen (repair may bring it back)', () => {
  const b = verifiedB({ ...PARAMS, maxPending: 2 });
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) {
    const data = Buffer.from(`item ${i}`);
    keys.push(Buffer.from(itemId(7, 0n, data)).toString('hex'));
    b.step(
      {
        kind: 'peer-message',
        link: 1,
        frame: encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 7, id: itemId(7, 0n, data), salt: 0n, data }),
      },
      3,
    );
  }
  assert.equal(b.state.pending.size, 2);
  assert.equal(b.state.counters.ERR_GOSSIP_PENDING_FULL, 1);
  assert.equal(b.state.seen.has(keys[2]!, 3), false);
});

test('maxIhaveEntries: entries beyond the limit in one IHAVE are ignored', () => {
  const b = verifiedB({ ...PARAMS, maxIhaveEntries: 3 });
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  const entries = Array.from({ length: 4 }, (_, i) => ({
    dataType: 7,
    id: itemId(7, 0n, Buffer.from(`o${i}`)),
  }));
  const out = b.step({ kind: 'peer-message', link: 1, frame: encodeP2P({ type: GOSSIP_IHAVE, entries }) }, 3);
  const iwant = sends(out, 506)[0]!;
  assert.equal((iwant.frame[4]! << 8) | iwant.frame[5]!, 3, 'IWANT for the first 3 only');
  assert.equal(b.state.counters.gossip_ihave_truncated, 1);
});

test('maxLinks: the link after the limit is closed', () => {
  const b = engine('B', { ...PARAMS, maxLinks: 2 });
  b.step({ kind: 'peer-open', link: 1, identity: 'X' }, 0);
  b.step({ kind: 'peer-open', link: 2, identity: 'Y' }, 0);
  const out = b.step({ kind: 'peer-open', link: 3, identity: 'Z' }, 0);
  assert.deepEqual(
    out.map((e) => e.kind),
    ['peer-close'],
  );
  assert.equal(b.state.counters.ERR_GOSSIP_TOO_MANY_LINKS, 1);
});

test('validationTimeoutMs: an unanswered item is dropped one tick past the deadline, not spread', () => {
  const b = verifiedB({ ...PARAMS, validationTimeoutMs: 100 });
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  const data = Buffer.from('slow');
  b.step(
    {
      kind: 'peer-message',
      link: 1,
      frame: encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 7, id: itemId(7, 0n, data), salt: 0n, data }),
    },
    10,
  );
  b.step({ kind: 'tick' }, 109);
  assert.equal(b.state.pending.size, 1);
  const out = b.step({ kind: 'tick' }, 110);
  assert.equal(b.state.pending.size, 0);
  assert.equal(sends(out, GOSSIP_PUSH).length, 0);
  assert.equal(b.state.counters.ERR_GOSSIP_VALIDATION_TIMEOUT, 1);
});

test('a failed send removes the peer from the known-peers list (seed 002)', () => {
  const b = verifiedB();
  const hello = b.step(
    {
      kind: 'peer-message',
      link: 1,
      frame: encodeP2P({ type: 511, listen: { addr: Uint8Array.of(10, 0, 0, 9), port: 6001 } }),
    },
    2,
  );
  // Listed once the address answered as A (a dial back).
  const address = { host: '10.0.0.9', port: 6001 };
  assert.deepEqual(hello, [{ kind: 'probe', address, identity: 'A' }]);
  b.step({ kind: 'probe-result', address, identity: 'A', ok: true }, 2);
  assert.equal(b.state.known.get('A')?.address.host, '10.0.0.9', 'listed');
  b.step({ kind: 'peer-close', link: 1, failed: true }, 3);
  assert.equal(b.state.known.has('A'), false);
  assert.equal(b.state.counters.ERR_GOSSIP_SEND_FAILED, 1);
});

test('an ANNOUNCE larger than a PUSH can carry is refused, the connection kept', () => {
  const a = engine('A');
  a.step({ kind: 'api-open', conn: 1 }, 0);
  const out = a.step(
    {
      kind: 'api-message',
      conn: 1,
      msg: { type: 500, ttl: 0, dataType: 1, data: new Uint8Array(65535 - 32 + 1) },
    },
    0,
  );
  assert.equal(out.length, 0);
  assert.equal(a.state.counters.ERR_GOSSIP_ITEM_TOO_LARGE, 1);
  assert.ok(encodeApi({ type: 500, ttl: 0, dataType: 1, data: new Uint8Array(65535 - 32 + 1) }).length > 0);
});
