import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GOSSIP_DEFAULTS, type GossipParams } from '../../src/protocol/gossip/limits.js';
import { seededRandom } from '../../src/protocol/gossip/random.js';
import type { EngineDeps } from '../../src/protocol/gossip/state.js';
import { ApiServer } from '../../src/services/gossip/api-server.js';
import { simPow } from '../../src/services/gossip/pow.js';
import type { ReasonCode } from '../../src/util/codes.js';
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

// Issue 12 item 5: no silent loss. Every item the engine drops is reported with its reason
// through `onItemDropped` (the node publishes it as items_dropped{reason}), besides its count.

const PARAMS: GossipParams = { ...GOSSIP_DEFAULTS, powBits: 8, degree: 4 };
const pow = simPow();

function peer(params: GossipParams = PARAMS) {
  const dropped: ReasonCode[] = [];
  const deps: EngineDeps = {
    params,
    random: seededRandom(11),
    verifyPow: pow.verify,
    identity: 'B',
    listen: { host: '10.0.0.2', port: 6001 },
    onItemDropped: (code, n) => {
      for (let i = 0; i < n; i++) dropped.push(code);
    },
  };
  return { b: enginePeer(deps), dropped };
}

function verify(
  b: ReturnType<typeof peer>['b'],
  params: GossipParams = PARAMS,
  dialled?: { host: string; port: number },
): void {
  const opened = b.step(
    { kind: 'peer-open', link: 1, identity: 'A', ...(dialled === undefined ? {} : { dialled }) },
    0,
  );
  const req = opened.find(
    (e) => e.kind === 'peer-send' && ((e.frame[2]! << 8) | e.frame[3]!) === GOSSIP_VERIFICATION_REQUEST,
  );
  assert.ok(req?.kind === 'peer-send');
  const nonce = readU64(req.frame, 4);
  const solution = pow.solve(verificationPowPrefix(nonce, verificationBinding('B', 'A')), params.powBits);
  const frame = encodeP2P({ type: GOSSIP_VERIFICATION_RESPONSE, nonce, challenge: solution });
  b.step({ kind: 'peer-message', link: 1, frame }, 1);
  assert.ok(b.state.links.get(1)!.verified);
}

const push = (text: string) => {
  const data = Buffer.from(text);
  return encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 7, id: itemId(7, 0n, data), salt: 0n, data });
};

test('a PUSH from an unverified link is an item dropped; an IHAVE there is only a refusal', () => {
  const { b, dropped } = peer();
  b.step({ kind: 'peer-open', link: 1, identity: 'A' }, 0);
  b.step({ kind: 'peer-message', link: 1, frame: push('x') }, 1);
  const ihave = encodeP2P({
    type: GOSSIP_IHAVE,
    entries: [{ dataType: 7, id: itemId(7, 0n, Buffer.from('y')) }],
  });
  b.step({ kind: 'peer-message', link: 1, frame: ihave }, 1);
  assert.deepEqual(dropped, ['ERR_GOSSIP_UNVERIFIED']);
  assert.equal(b.state.counters.ERR_GOSSIP_UNVERIFIED, 2);
});

test('pending full and validation timeout report the items they drop', () => {
  const params = { ...PARAMS, maxPending: 1, validationTimeoutMs: 100 };
  const { b, dropped } = peer(params);
  verify(b, params);
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  b.step({ kind: 'peer-message', link: 1, frame: push('one') }, 3);
  b.step({ kind: 'peer-message', link: 1, frame: push('two') }, 3);
  assert.deepEqual(dropped, ['ERR_GOSSIP_PENDING_FULL']);
  b.step({ kind: 'tick' }, 500);
  assert.deepEqual(dropped, ['ERR_GOSSIP_PENDING_FULL', 'ERR_GOSSIP_VALIDATION_TIMEOUT']);
});

test('a copy of a held item is a duplicate, counted before any decode; a new id with forged content is still refused', () => {
  const { b, dropped } = peer();
  verify(b);
  b.step({ kind: 'api-open', conn: 1 }, 2);
  b.step({ kind: 'api-message', conn: 1, msg: { type: 501, dataType: 7 } }, 2);
  const frame = push('one');
  b.step({ kind: 'peer-message', link: 1, frame }, 3);
  assert.equal(b.state.pending.size, 1);
  b.step({ kind: 'peer-message', link: 1, frame }, 4);
  assert.equal(b.state.counters.gossip_duplicate, 1);
  // A different id whose content does not hash to it: refused by the decode as before.
  const forged = Uint8Array.from(push('two'));
  forged[8]! ^= 1;
  b.step({ kind: 'peer-message', link: 1, frame: forged }, 5);
  assert.equal(b.state.counters.ERR_GOSSIP_P2P_ID, 1);
  assert.equal(b.state.pending.size, 1);
  assert.deepEqual(dropped, []);
});

test('ApiServer.send says when a NOTIFICATION found its connection gone (the node counts it dropped)', () => {
  const api = new ApiServer({ open() {}, message() {}, close() {}, count() {} });
  assert.equal(api.send(42, new Uint8Array(8)), 'gone');
});

test('a known peer already linked to us (inbound, address not yet probed) is not dialled again', () => {
  const { b } = peer();
  verify(b);
  const address = { host: '10.0.0.1', port: 6001 };
  b.state.known.set('A', { address, identity: 'A', group: '4:10.0', lastSeen: 0 });
  // Short of neighbours (degree 4, one link): the heartbeat dials, but not A again.
  const dials = b.step({ kind: 'tick' }, 10).filter((e) => e.kind === 'dial' && !e.bootstrap);
  assert.deepEqual(dials, []);
  // Without the link, A is dialled.
  b.step({ kind: 'peer-close', link: 1, failed: false }, 11);
  const again = b.step({ kind: 'tick' }, 12).filter((e) => e.kind === 'dial' && !e.bootstrap);
  assert.deepEqual(
    again.map((e) => (e.kind === 'dial' ? e.address : undefined)),
    [address],
  );
});

test('a verified link is kept when the same peer opens another (its probe of our HELLO address)', () => {
  const { b } = peer();
  // B dialled A; A then dials B (a probe, or a second link): by the dialler rule alone ('A' <
  // 'B') B would keep the new link and drop the verified one, which the probe then closes.
  verify(b, PARAMS, { host: '10.0.0.1', port: 6001 });
  const effects = b.step({ kind: 'peer-open', link: 2, identity: 'A' }, 5);
  assert.deepEqual(
    effects.filter((e) => e.kind === 'peer-close'),
    [{ kind: 'peer-close', link: 2, code: 'ERR_GOSSIP_DUPLICATE_LINK' }],
  );
  assert.ok(b.state.links.get(1)?.verified);
  assert.equal(b.state.links.has(2), false);
});
