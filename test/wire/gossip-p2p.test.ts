import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatAddressBytes } from '../../src/admission/endpoint.js';
import {
  decodeP2P,
  encodeP2P,
  GOSSIP_HELLO,
  GOSSIP_IHAVE,
  GOSSIP_IWANT,
  GOSSIP_PEER_REQUEST,
  GOSSIP_PEER_RESPONSE,
  GOSSIP_PUSH,
  GOSSIP_VERIFICATION_REQUEST,
  GOSSIP_VERIFICATION_RESPONSE,
  itemId,
  P2P_MAX_DATA,
  type P2PMessage,
  verificationBinding,
  verificationPowParts,
  verificationPowPrefix,
} from '../../src/wire/gossip-p2p.js';

interface Vectors {
  valid: {
    name: string;
    hex: string;
    message: Record<string, unknown>;
    powBits?: number;
    sha256?: string;
    verifier?: string;
    prover?: string;
    bindingHex?: string;
  }[];
  invalid: { name: string; hex: string; code: string }[];
}
const vectors = JSON.parse(readFileSync('test/vectors/gossip-p2p.json', 'utf8')) as Vectors;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A JSON-friendly view: byte fields as hex, bigints as 0x-hex. */
function plain(m: P2PMessage): Record<string, unknown> {
  switch (m.type) {
    case GOSSIP_PUSH:
      return {
        type: m.type,
        ttl: m.ttl,
        dataType: m.dataType,
        idHex: hex(m.id),
        saltHex: m.salt.toString(16).padStart(16, '0'),
        dataHex: hex(m.data),
      };
    case GOSSIP_IHAVE:
      return { type: m.type, entries: m.entries.map((e) => ({ dataType: e.dataType, idHex: hex(e.id) })) };
    case GOSSIP_IWANT:
      return { type: m.type, ids: m.ids.map(hex) };
    case GOSSIP_PEER_REQUEST:
      return { type: m.type, limit: m.limit, nonce: `0x${m.nonce.toString(16)}` };
    case GOSSIP_PEER_RESPONSE:
      return {
        type: m.type,
        nonce: `0x${m.nonce.toString(16)}`,
        challenge: `0x${m.challenge.toString(16)}`,
        ipv6: m.ipv6,
        peers: m.peers.map((p) => ({ host: formatAddressBytes(p.addr), port: p.port })),
      };
    case GOSSIP_VERIFICATION_REQUEST:
      return { type: m.type, nonce: `0x${m.nonce.toString(16)}` };
    case GOSSIP_VERIFICATION_RESPONSE:
      return { type: m.type, nonce: `0x${m.nonce.toString(16)}`, challenge: `0x${m.challenge.toString(16)}` };
    case GOSSIP_HELLO:
      return { type: m.type, listen: { host: formatAddressBytes(m.listen.addr), port: m.listen.port } };
    default:
      // KEEP_CHALL and KEEP_POW have their own vectors (test/wire/gossip-keep.test.ts).
      return { type: m.type };
  }
}

const norm = (o: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(o).replace(/"0x0*([0-9a-f]+)"/g, (_, d: string) => `"0x${d}"`));

for (const v of vectors.valid) {
  test(`P2P vector decodes and re-encodes: ${v.name}`, () => {
    const verdict = decodeP2P(bytes(v.hex));
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.code);
    assert.deepEqual(norm(plain(verdict.value)), norm(v.message));
    assert.equal(hex(encodeP2P(verdict.value)), v.hex);
  });
}

for (const v of vectors.invalid) {
  test(`P2P vector is dropped: ${v.name}`, () => {
    const verdict = decodeP2P(bytes(v.hex));
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.code, v.code);
  });
}

test('the VERIFICATION RESPONSE vector is a sha256-bits proof over binding || its 20 bytes', () => {
  const v = vectors.valid.find((x) => x.powBits !== undefined)!;
  const frame = bytes(v.hex);
  const binding = verificationBinding(v.verifier!, v.prover!);
  assert.equal(hex(binding), v.bindingHex);
  assert.equal(createHash('sha256').update(binding).update(frame).digest('hex'), v.sha256);
  const { challenge, nonce } = verificationPowParts(frame, binding);
  const digest = createHash('sha256')
    .update(challenge)
    .update(Buffer.from(nonce.toString(16).padStart(16, '0'), 'hex'))
    .digest();
  assert.equal(digest.toString('hex'), v.sha256, 'challenge || u64 nonce is binding || the whole message');
  assert.equal(hex(verificationPowPrefix(0xdeadbeefcafef00dn, binding)), v.bindingHex + v.hex.slice(0, 24));
  assert.notEqual(hex(verificationBinding('B', 'A')), v.bindingHex, 'the roles are part of the binding');
});

test('itemId is the first 128 bits of SHA-256(tag || data type || salt || data)', () => {
  const data = Buffer.from('deadbeef');
  const expected = createHash('sha256')
    .update('tollgate/gossip/item/v2')
    .update(Uint8Array.of(0x05, 0x39, 1, 2, 3, 4, 5, 6, 7, 8))
    .update(data)
    .digest()
    .subarray(0, 16);
  assert.equal(hex(itemId(1337, 0x0102030405060708n, data)), hex(expected));
  assert.notEqual(
    hex(itemId(1338, 0x0102030405060708n, data)),
    hex(expected),
    'the data type is part of the id',
  );
  assert.notEqual(hex(itemId(1337, 0x0102030405060709n, data)), hex(expected), 'so is the salt');
});

test('PUSH carries at most P2P_MAX_DATA bytes (limit + 1 refused)', () => {
  const data = new Uint8Array(P2P_MAX_DATA);
  const push = encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 1, id: itemId(1, 0n, data), salt: 0n, data });
  assert.equal(push.length, 0xffff);
  assert.ok(decodeP2P(push).ok);
  const more = new Uint8Array(P2P_MAX_DATA + 1);
  assert.throws(
    () =>
      encodeP2P({ type: GOSSIP_PUSH, ttl: 0, dataType: 1, id: itemId(1, 0n, more), salt: 0n, data: more }),
    /msg\.data/,
  );
});

const arbId = fc.uint8Array({ minLength: 16, maxLength: 16 });
const arbU64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const arbV4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).filter((a) => a.some((x) => x !== 0));
const isMapped = (a: Uint8Array) =>
  a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
const arbV6 = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .filter((a) => a.some((x) => x !== 0) && !isMapped(a));
const arbMsg: fc.Arbitrary<P2PMessage> = fc.oneof(
  fc
    .record({
      ttl: fc.integer({ min: 0, max: 255 }),
      dataType: fc.integer({ min: 0, max: 0xffff }),
      data: fc.uint8Array({ maxLength: 40 }),
      salt: arbU64,
    })
    .map(
      ({ ttl, dataType, data, salt }) =>
        ({ type: GOSSIP_PUSH, ttl, dataType, data, salt, id: itemId(dataType, salt, data) }) as P2PMessage,
    ),
  fc
    .array(fc.record({ dataType: fc.integer({ min: 0, max: 0xffff }), id: arbId }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((entries) => ({ type: GOSSIP_IHAVE, entries }) as P2PMessage),
  fc.array(arbId, { minLength: 1, maxLength: 5 }).map((ids) => ({ type: GOSSIP_IWANT, ids }) as P2PMessage),
  fc
    .record({ limit: fc.integer({ min: 1, max: 255 }), nonce: arbU64 })
    .map((r) => ({ type: GOSSIP_PEER_REQUEST, ...r }) as P2PMessage),
  fc
    .record({
      nonce: arbU64,
      challenge: arbU64,
      ipv6: fc.boolean(),
      v4: fc.array(fc.record({ addr: arbV4, port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 4 }),
      v6: fc.array(fc.record({ addr: arbV6, port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 4 }),
    })
    .map(
      ({ nonce, challenge, ipv6, v4, v6 }) =>
        ({ type: GOSSIP_PEER_RESPONSE, nonce, challenge, ipv6, peers: ipv6 ? v6 : v4 }) as P2PMessage,
    ),
  arbU64.map((nonce) => ({ type: GOSSIP_VERIFICATION_REQUEST, nonce }) as P2PMessage),
  fc
    .record({ nonce: arbU64, challenge: arbU64 })
    .map((r) => ({ type: GOSSIP_VERIFICATION_RESPONSE, ...r }) as P2PMessage),
  fc
    .record({ addr: fc.oneof(arbV4, arbV6), port: fc.integer({ min: 1, max: 65535 }) })
    .map((listen) => ({ type: GOSSIP_HELLO, listen }) as P2PMessage),
);

test('property: decode(encode(m)) = m, and re-encoding gives the same bytes', () => {
  fc.assert(
    fc.property(arbMsg, (m) => {
      const frame = encodeP2P(m);
      const verdict = decodeP2P(frame);
      assert.ok(verdict.ok, verdict.ok ? '' : verdict.code);
      assert.deepEqual(plain(verdict.value), plain(m));
      assert.equal(hex(encodeP2P(verdict.value)), hex(frame));
    }),
  );
});

test('property: any single damaged byte is dropped or decodes to a message that re-encodes to it', () => {
  fc.assert(
    fc.property(arbMsg, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, pos, flip) => {
      const frame = encodeP2P(m);
      const damaged = frame.slice();
      const at = pos % damaged.length;
      damaged[at] = damaged[at]! ^ flip;
      const verdict = decodeP2P(damaged);
      // Canonical decode: whatever is accepted is exactly what its encoding would be.
      if (verdict.ok) assert.equal(hex(encodeP2P(verdict.value)), hex(damaged));
    }),
  );
});

test('property: truncated or extended frames are dropped', () => {
  fc.assert(
    fc.property(arbMsg, fc.integer({ min: 1, max: 8 }), (m, cut) => {
      const frame = encodeP2P(m);
      assert.equal(decodeP2P(frame.subarray(0, Math.max(0, frame.length - cut))).ok, false);
      const longer = new Uint8Array(frame.length + cut);
      longer.set(frame);
      assert.equal(decodeP2P(longer).ok, false);
    }),
  );
});
