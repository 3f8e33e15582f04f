import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import type { Effect } from '../../src/protocol/gossip/state.js';
import { MemoryHub } from '../../src/services/gossip/memory-transport.js';
import { GossipNode } from '../../src/services/gossip/node.js';
import { simPow } from '../../src/services/gossip/pow.js';
import { GOSSIP_NOTIFY, GOSSIP_VALIDATION, readU16 } from '../../src/wire/gossip-api.js';
import {
  decodeP2P,
  encodeP2P,
  GOSSIP_PEER_REQUEST,
  GOSSIP_PEER_RESPONSE,
  GOSSIP_PUSH,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
  itemId,
  readU64,
  verificationBinding,
  verificationPowPrefix,
} from '../../src/wire/gossip-p2p.js';
import { type EnginePeer, enginePeer } from '../harness/engine-peer.js';
import { NODE_PARAMS, until } from '../helpers/gossip-nodes.js';
import { SIM_PARAMS, settledNet, simNet } from '../helpers/gossip-sim.js';

// Issue 10 item 4: the holes found when the module was tried as an attacker would, each with a
// test that failed before its fix.

const TYPE = 1337;

test('the same bytes announced twice are two items: every subscriber is notified twice, never more', () => {
  const { net, conns } = settledNet(12, TYPE);
  const data = Buffer.from('deadbeef');
  const first = net.announce(0, conns[0]!, TYPE, data, 4);
  net.run(net.now + 2_000);
  const second = net.announce(0, conns[0]!, TYPE, data, 4);
  net.run(net.now + 5_000);
  assert.notEqual(first, second, 'a fresh id per ANNOUNCE');
  for (let p = 1; p < 12; p++) {
    const got = net.deliveries.filter((d) => d.peer === p && (d.key === first || d.key === second));
    assert.equal(got.length, 2, `peer ${p}: each announcement once (copies still suppressed)`);
  }
});

// A harness of single engines, every effect inspected.
const PARAMS: GossipParams = { ...GOSSIP_DEFAULTS, powBits: 8, degree: 4 };
const pow = simPow();
function engine(name: string, params: GossipParams = PARAMS) {
  return enginePeer({
    params,
    random: seededRandom(name.length * 31 + 7),
    verifyPow: pow.verify,
    identity: name,
    listen: { host: '10.0.0.1', port: 6001 },
  });
}
const ask = (nonce: bigint) => encodeP2P({ type: GOSSIP_VERIFICATION_REQUEST, nonce });

test('VERIFICATION REQUEST: a puzzle relayed from another peer is bound to the wrong pair and fails', () => {
  // X asks M; M relays X's nonce to V, who solves it for M; M answers X with V's solution.
  const x = engine('X', { ...PARAMS, powBits: 16 });
  const opened = x.step(
    { kind: 'peer-open', link: 1, identity: 'M', dialled: { host: '10.0.0.9', port: 1 } },
    0,
  );
  const req = opened.find(
    (e) => e.kind === 'peer-send' && readU16(e.frame, 2) === GOSSIP_VERIFICATION_REQUEST,
  );
  assert.ok(req?.kind === 'peer-send');
  const nonce = readU64(req.frame, 4);
  const v = engine('V', { ...PARAMS, powBits: 16 });
  const solve = v
    .step({ kind: 'peer-open', link: 1, identity: 'M', dialled: { host: '10.0.0.9', port: 1 } }, 0)
    .concat(v.step({ kind: 'peer-message', link: 1, frame: ask(nonce) }, 1))
    .find((e) => e.kind === 'solve');
  assert.ok(solve?.kind === 'solve', 'V solves what it is asked');
  const solution = pow.solve(solve.prefix, solve.bits);
  const answer = encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution });
  x.step({ kind: 'peer-message', link: 1, frame: answer }, 2);
  assert.equal(x.state.counters.ERR_GOSSIP_POW_INVALID, 1, "V's work does not verify M to X");
  assert.equal(x.state.verifiedIds.has('M'), false);
});

test('VERIFICATION REQUEST on links strangers opened: no solve before the stranger proved its own PoW', () => {
  const b = engine('B', { ...PARAMS, maxLinks: 64 });
  let solves = 0;
  for (let link = 1; link <= 40; link++) {
    for (const e of b.step({ kind: 'peer-open', link, identity: `S${link}` }, 0))
      if (e.kind === 'solve') solves++;
    for (const e of b.step({ kind: 'peer-message', link, frame: ask(BigInt(link)) }, 1))
      if (e.kind === 'solve') solves++;
  }
  assert.equal(solves, 0, '40 unverified strangers cost us no hashing');
  // A stranger that proves itself is answered at once.
  const opened = b.step({ kind: 'peer-open', link: 99, identity: 'A' }, 2);
  const req = opened.find(
    (e) => e.kind === 'peer-send' && readU16(e.frame, 2) === GOSSIP_VERIFICATION_REQUEST,
  );
  assert.ok(req?.kind === 'peer-send');
  b.step({ kind: 'peer-message', link: 99, frame: ask(7n) }, 3);
  const nonce = readU64(req.frame, 4);
  const solution = pow.solve(verificationPowPrefix(nonce, verificationBinding('B', 'A')), PARAMS.powBits);
  const out = b.step(
    {
      kind: 'peer-message',
      link: 99,
      frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution }),
    },
    4,
  );
  assert.equal(out.filter((e) => e.kind === 'solve').length, 1);
});

test('solves: one global queue, at most maxSolving at once; a queued solve of a closed link never starts', () => {
  const p = { ...PARAMS, maxSolving: 2, maxSolveQueue: 3, maxLinks: 64 };
  const a = engine('A', p);
  const started: number[] = [];
  const collect = (effects: Effect[]) => {
    for (const e of effects) if (e.kind === 'solve') started.push(e.link);
  };
  for (let link = 1; link <= 5; link++) {
    a.step(
      { kind: 'peer-open', link, identity: `P${link}`, dialled: { host: `10.0.1.${link}`, port: 1 } },
      0,
    );
    collect(a.step({ kind: 'peer-message', link, frame: ask(BigInt(link)) }, 1));
  }
  assert.deepEqual(started, [1, 2], 'two run, three wait');
  // A sixth is beyond the queue: its link is closed.
  a.step({ kind: 'peer-open', link: 6, identity: 'P6', dialled: { host: '10.0.1.6', port: 1 } }, 2);
  a.step({ kind: 'peer-message', link: 6, frame: ask(6n) }, 2);
  assert.equal(a.state.counters.ERR_GOSSIP_SOLVE_BUSY, 1);
  // Link 3 hangs up while waiting; when a place frees, 4 starts, not 3.
  a.step({ kind: 'peer-close', link: 3, failed: false }, 3);
  collect(a.step({ kind: 'solved', link: 1, nonce: 1n, solution: 0n }, 4));
  assert.deepEqual(started, [1, 2, 4]);
});

test('a running solve is cancelled when its link closes', async () => {
  const hub = new MemoryHub(1);
  const boot = new GossipNode({
    params: NODE_PARAMS,
    identity: 'boot',
    transport: hub.transport('boot'),
    p2pAddress: { host: '10.0.0.254', port: 6001 },
    isBootstrapper: true,
  });
  const signals: AbortSignal[] = [];
  const peer = new GossipNode({
    params: NODE_PARAMS,
    identity: 'peer-0',
    transport: hub.transport('peer-0'),
    p2pAddress: { host: '10.0.0.1', port: 6001 },
    bootstrapper: { host: '10.0.0.254', port: 6001 },
    // A solver that only ends when cancelled.
    solve: (_prefix, _bits, signal) => {
      signals.push(signal);
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  });
  try {
    await boot.start();
    await peer.start();
    await until('the bootstrapper asked for a solve', () => signals.length >= 1);
    await boot.close();
    await until('the solve is cancelled', () => signals[0]!.aborted);
  } finally {
    await Promise.all([boot.close(), peer.close()]);
  }
});

test('degree above the network size: a peer backs off from the bootstrapper instead of dialling it every joinRetryMs', () => {
  const net = simNet(3, { params: { ...SIM_PARAMS, degree: 30 } });
  net.run(60_000);
  for (let p = 0; p < 3; p++) {
    assert.equal(net.neighbourCount(p), 2, `peer ${p} is linked to both others`);
    const joins = net.engine(p).state.counters.gossip_join ?? 0;
    // Before: one join every joinRetryMs (2 s), about 30 in a minute; doubling gives about 5.
    assert.ok(joins <= 8, `peer ${p} joined ${joins} times in 60 s`);
  }
});

/** Opens `link` on `b` to `identity` (dialled by b, so no deferral) and runs its verification. */
function verifyLink(b: EnginePeer, link: number, identity: string, params: GossipParams = PARAMS) {
  const opened = b.step(
    { kind: 'peer-open', link, identity, dialled: { host: `10.0.0.${link + 1}`, port: 6001 } },
    0,
  );
  const req = opened.find(
    (e) => e.kind === 'peer-send' && readU16(e.frame, 2) === GOSSIP_VERIFICATION_REQUEST,
  );
  assert.ok(req?.kind === 'peer-send');
  const nonce = readU64(req.frame, 4);
  const solution = pow.solve(
    verificationPowPrefix(nonce, verificationBinding('B', identity)),
    params.powBits,
  );
  b.step(
    {
      kind: 'peer-message',
      link,
      frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution }),
    },
    1,
  );
  assert.ok(b.state.links.get(link)!.verified);
}

/** B with a verified link 1 from A. */
function verifiedB(params: GossipParams = PARAMS) {
  const b = engine('B', params);
  verifyLink(b, 1, 'A', params);
  return b;
}

function push(dataType: number, n: number) {
  const data = Buffer.from(`item ${n}`);
  const salt = BigInt(n);
  return encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType, id: itemId(dataType, salt, data), salt, data });
}

test('a silent local subscriber cannot starve a well-behaved one: 10,000 of 10,000 items reach it', () => {
  const b = verifiedB({ ...PARAMS, maxPending: 1024 });
  for (const conn of [1, 2]) {
    b.step({ kind: 'api-open', conn }, 2);
    b.step({ kind: 'api-message', conn, msg: { type: GOSSIP_NOTIFY, dataType: TYPE } }, 2);
  }
  let delivered = 0;
  for (let i = 0; i < 10_000; i++) {
    const now = 3 + Math.floor(i / 100);
    for (const e of b.step({ kind: 'peer-message', link: 1, frame: push(TYPE, i) }, now)) {
      // Connection 1 never answers; connection 2 answers every NOTIFICATION at once.
      if (e.kind !== 'api-send' || e.conn !== 2) continue;
      delivered++;
      const messageId = readU16(e.frame, 4);
      b.step({ kind: 'api-message', conn: 2, msg: { type: GOSSIP_VALIDATION, messageId, valid: true } }, now);
    }
  }
  assert.equal(delivered, 10_000);
  assert.ok(b.state.pending.size <= 1024);
});

test("seen-set flooding: unsubscribed and over-share pushes of one link never make another link's item undeliverable", () => {
  const p = { ...PARAMS, maxSeen: 1_000, maxUnwantedPerLink: 1_000_000 };
  const b = verifiedB(p);
  verifyLink(b, 2, 'C', p);
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: GOSSIP_NOTIFY, dataType: TYPE } }, 2);
  const answer = (effects: Effect[], now: number): number => {
    let notified = 0;
    for (const e of effects) {
      if (e.kind !== 'api-send') continue;
      notified++;
      b.step(
        {
          kind: 'api-message',
          conn: 1,
          msg: { type: GOSSIP_VALIDATION, messageId: readU16(e.frame, 4), valid: true },
        },
        now,
      );
    }
    return notified;
  };
  // 1.1 times the seen set in pushes of a type nobody here subscribed to, then as many of ours.
  for (let i = 0; i < 1_100; i++) b.step({ kind: 'peer-message', link: 1, frame: push(99, i) }, 3);
  for (let i = 0; i < 1_100; i++)
    answer(b.step({ kind: 'peer-message', link: 1, frame: push(TYPE, 10_000 + i) }, 4), 4);
  assert.ok(b.state.seen.size <= 1_000);
  // The honest link's item is still taken and delivered.
  assert.equal(answer(b.step({ kind: 'peer-message', link: 2, frame: push(TYPE, 99_999) }, 5), 5), 1);
  assert.ok((b.state.counters.ERR_GOSSIP_SEEN_FULL ?? 0) >= 1, "the flooder's own items were refused");
});

test('a link that keeps pushing what we cannot use is closed past maxUnwantedPerLink', () => {
  const b = verifiedB({ ...PARAMS, maxUnwantedPerLink: 50 });
  for (let i = 0; i < 51; i++) b.step({ kind: 'peer-message', link: 1, frame: push(99, i) }, 3);
  assert.equal(b.state.links.size, 0);
  assert.equal(b.state.counters.ERR_GOSSIP_FLOOD, 1);
});

test('HELLO flooding: one verified peer re-sending HELLO lists no address of its choosing; newcomers get every honest peer', () => {
  const boot = enginePeer({
    params: PARAMS,
    random: seededRandom(99),
    verifyPow: pow.verify,
    identity: 'BOOT',
    listen: { host: '10.255.0.1', port: 6001 },
    isBootstrapper: true,
  });
  const hello = (link: number, a: number, b: number, now: number) =>
    boot.step(
      {
        kind: 'peer-message',
        link,
        frame: encodeP2P({ type: 511, listen: { addr: Uint8Array.of(a, b, 0, 1), port: 6001 } }),
      },
      now,
    );
  const probes: Effect[] = [];
  /** A joiner: HELLO, PEER REQUEST, the PoW the bootstrapper asks for, and the dial back answered. */
  const join = (link: number, identity: string, a: number, b: number) => {
    boot.step({ kind: 'peer-open', link, identity }, 1);
    probes.push(...hello(link, a, b, 1).filter((e) => e.kind === 'probe'));
    const out = boot.step(
      { kind: 'peer-message', link, frame: encodeP2P({ type: GOSSIP_PEER_REQUEST, limit: 255, nonce: 5n }) },
      2,
    );
    const response = out.find((e) => e.kind === 'peer-send');
    assert.ok(response?.kind === 'peer-send');
    const decoded = decodeP2P(response.frame);
    assert.ok(decoded.ok && decoded.value.type === GOSSIP_PEER_RESPONSE);
    const nonce = decoded.value.challenge;
    const solution = pow.solve(
      verificationPowPrefix(nonce, verificationBinding('BOOT', identity)),
      PARAMS.powBits,
    );
    const verified = boot.step(
      {
        kind: 'peer-message',
        link,
        frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution }),
      },
      3,
    );
    for (const e of verified) {
      if (e.kind !== 'probe') continue;
      probes.push(e);
      // The address answers as the identity that claimed it.
      boot.step(
        { kind: 'probe-result', address: e.address, identity: e.identity, ok: e.identity === identity },
        4,
      );
    }
    return decoded.value;
  };
  for (let i = 0; i < 10; i++) join(i + 1, `H${i}`, 10, i);
  // The attacker pays one PoW, then sends 1,000 HELLOs naming addresses it does not own.
  join(100, 'M', 172, 16);
  for (let i = 0; i < 1_000; i++)
    probes.push(...hello(100, 100 + (i >> 8), i & 0xff, 5).filter((e) => e.kind === 'probe'));
  assert.equal(probes.length, 11, 'one dial back per joiner: no dials reflected onto made-up addresses');
  assert.equal(boot.state.counters.ERR_GOSSIP_HELLO_REPEATED, 1_000);
  const offered = join(200, 'N', 10, 200).peers.map((p) => `${p.addr.join('.')}:${p.port}`);
  for (let i = 0; i < 10; i++) assert.ok(offered.includes(`10.${i}.0.1:6001`), `honest peer ${i} offered`);
  assert.ok(offered.filter((a) => !a.startsWith('10.')).length <= 1, "at most the attacker's own address");
});

test('known peers: at most maxKnownPerGroup per address group; a response draws across groups first', () => {
  const params = { ...PARAMS, maxKnownPerGroup: 3 };
  const boot = enginePeer({
    params,
    random: seededRandom(5),
    verifyPow: pow.verify,
    identity: 'BOOT',
    listen: { host: '10.255.0.1', port: 6001 },
    isBootstrapper: true,
  });
  const join = (link: number, identity: string, host: number[], limit: number) => {
    boot.step({ kind: 'peer-open', link, identity }, 1);
    const listen = { addr: Uint8Array.from(host), port: 6001 };
    boot.step({ kind: 'peer-message', link, frame: encodeP2P({ type: 511, listen }) }, 1);
    const out = boot.step(
      { kind: 'peer-message', link, frame: encodeP2P({ type: GOSSIP_PEER_REQUEST, limit, nonce: 5n }) },
      2,
    );
    const response = out.find((e) => e.kind === 'peer-send');
    assert.ok(response?.kind === 'peer-send');
    const decoded = decodeP2P(response.frame);
    assert.ok(decoded.ok && decoded.value.type === GOSSIP_PEER_RESPONSE);
    const nonce = decoded.value.challenge;
    const solution = pow.solve(
      verificationPowPrefix(nonce, verificationBinding('BOOT', identity)),
      params.powBits,
    );
    for (const e of boot.step(
      {
        kind: 'peer-message',
        link,
        frame: encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution }),
      },
      3,
    )) {
      if (e.kind === 'probe')
        boot.step({ kind: 'probe-result', address: e.address, identity: e.identity, ok: true }, 4);
    }
    return decoded.value.peers.map((p) => p.addr.join('.'));
  };
  // Ten identities from one /16, then two from others.
  for (let i = 0; i < 10; i++) join(i + 1, `S${i}`, [172, 16, 0, i + 1], 1);
  join(20, 'X', [10, 1, 0, 1], 1);
  join(21, 'Y', [10, 2, 0, 1], 1);
  const groups = [...boot.state.known.values()].filter((e) => e.address.host.startsWith('172.16.'));
  assert.equal(groups.length, 3, 'the /16 holds maxKnownPerGroup entries');
  assert.equal(boot.state.known.size, 5);
  // Three peers asked for: one from each group before a second from any.
  const offered = join(30, 'N', [10, 3, 0, 1], 3);
  assert.equal(offered.length, 3);
  assert.ok(offered.includes('10.1.0.1') && offered.includes('10.2.0.1'));
  assert.equal(offered.filter((a) => a.startsWith('172.16.')).length, 1);
});
