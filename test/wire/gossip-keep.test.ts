import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatAddressBytes } from '../../src/admission/endpoint.js';
import {
  decodeP2P,
  encodeP2P,
  GOSSIP_KEEP_CHALL,
  GOSSIP_KEEP_POW,
  type KeepEntry,
  keepPowChallenge,
  type P2PMessage,
} from '../../src/wire/gossip-p2p.js';

interface Vectors {
  valid: {
    name: string;
    hex: string;
    message: Record<string, unknown>;
    prover?: string;
    challengeHex?: string;
    sha256?: string;
  }[];
  invalid: { name: string; hex: string; code: string }[];
}
const vectors = JSON.parse(readFileSync('test/vectors/gossip-keep.json', 'utf8')) as Vectors;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (n: bigint) => `0x${n.toString(16)}`;

function entry(e: KeepEntry): Record<string, unknown> {
  return {
    challHex: hex(e.chall),
    challenger: { host: formatAddressBytes(e.challenger.addr), port: e.challenger.port },
    prover: { host: formatAddressBytes(e.prover.addr), port: e.prover.port },
  };
}

function plain(m: P2PMessage): Record<string, unknown> {
  if (m.type === GOSSIP_KEEP_CHALL) return { type: m.type, round: big(m.round), entry: entry(m.entry) };
  if (m.type === GOSSIP_KEEP_POW) {
    return { type: m.type, round: big(m.round), nonce: big(m.nonce), entries: m.entries.map(entry) };
  }
  return { type: m.type };
}

for (const v of vectors.valid) {
  test(`KEEP vector decodes and re-encodes: ${v.name}`, () => {
    const verdict = decodeP2P(bytes(v.hex));
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.code);
    assert.deepEqual(plain(verdict.value), v.message);
    assert.equal(hex(encodeP2P(verdict.value)), v.hex);
  });
}

for (const v of vectors.invalid) {
  test(`KEEP vector is dropped: ${v.name}`, () => {
    const verdict = decodeP2P(bytes(v.hex));
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.code, v.code);
  });
}

test('the KEEP_POW vector: SHA-256(challenge || nonce) with challenge = SHA-256(tag, prover, round, list)', () => {
  const v = vectors.valid.find((x) => x.prover !== undefined)!;
  const frame = bytes(v.hex);
  const challenge = keepPowChallenge(v.prover!, frame);
  assert.equal(hex(challenge), v.challengeHex);
  const m = decodeP2P(frame);
  assert.ok(m.ok && m.value.type === GOSSIP_KEEP_POW);
  if (!m.ok || m.value.type !== GOSSIP_KEEP_POW) return;
  const nonce = Buffer.alloc(8);
  nonce.writeBigUInt64BE(m.value.nonce);
  const digest = createHash('sha256').update(challenge).update(nonce).digest();
  assert.equal(digest.toString('hex'), v.sha256);
  assert.equal(digest[0], 0);
  // The nonce is not part of the challenge, and another prover gets another challenge.
  const other = Uint8Array.from(frame);
  other[19]! ^= 1;
  assert.equal(hex(keepPowChallenge(v.prover!, other)), v.challengeHex);
  assert.notEqual(hex(keepPowChallenge('c'.repeat(64), frame)), v.challengeHex);
});

test('encodeP2P refuses a KEEP_POW list out of canonical order', () => {
  const m = decodeP2P(bytes(vectors.valid[2]!.hex));
  assert.ok(m.ok && m.value.type === GOSSIP_KEEP_POW);
  if (!m.ok || m.value.type !== GOSSIP_KEEP_POW) return;
  const pow = m.value;
  assert.throws(() => encodeP2P({ ...pow, entries: [...pow.entries].reverse() }), /ascending/);
});
