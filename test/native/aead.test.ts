import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { verifySha256Bits, verifySha256BitsNode } from '../../src/pow/sha256-bits.js';
import { addon, skipNative } from './helpers.js';

const skipAead = skipNative || (addon!.features().aead !== true && 'no OpenSSL symbols in this Node');

function nodeSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, pt: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function nodeOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const fixed = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

describe('native AES-256-GCM (context per key and direction)', { skip: skipAead }, () => {
  const a = addon!;

  it('property: seals exactly what node:crypto seals, and opens it in place', () => {
    fc.assert(
      fc.property(fixed(32), fixed(12), bytes(64), bytes(2000), (key, iv, aad, pt) => {
        const sealer = a.aeadNew!(key, true)!;
        const opener = a.aeadNew!(key, false)!;
        const buf = new Uint8Array(pt.length + 16);
        buf.set(pt);
        a.aeadSeal!(sealer, iv, aad, buf);
        assert.deepEqual(Buffer.from(buf), nodeSeal(key, iv, aad, pt));
        assert.equal(a.aeadOpen!(opener, iv, aad, buf), true);
        assert.deepEqual(buf.subarray(0, pt.length), pt);
      }),
      { numRuns: 200 },
    );
  });

  it('property: one context serves many calls; any flipped bit of iv, aad, ciphertext or tag is refused like node:crypto refuses it', () => {
    const key = randomBytes(32);
    const opener = a.aeadNew!(key, false)!;
    fc.assert(
      fc.property(fixed(12), bytes(40), bytes(300), fc.nat(), (iv, aad, pt, at) => {
        const sealed = nodeSeal(key, iv, aad, pt);
        const parts = [iv, aad, sealed].filter((p) => p.length > 0);
        const total = parts.reduce((n, p) => n + p.length, 0);
        let k = at % (total * 8);
        const copy = parts.map((p) => Uint8Array.from(p));
        for (const p of copy) {
          if (k < p.length * 8) {
            p[k >> 3]! ^= 1 << (k & 7);
            break;
          }
          k -= p.length * 8;
        }
        const [iv2, aad2, sealed2] =
          iv.length > 0 && aad.length > 0 ? copy : [copy[0]!, new Uint8Array(0), copy[1]!];
        assert.equal(nodeOpen(key, iv2!, aad2!, sealed2!), undefined);
        assert.equal(a.aeadOpen!(opener, iv2!, aad2!, Uint8Array.from(sealed2!)), false);
        assert.equal(a.aeadOpen!(opener, iv, aad, Uint8Array.from(sealed)), true);
      }),
      { numRuns: 300 },
    );
  });

  it('caller mistakes throw ERR_INVALID_ARG naming the argument; nothing crashes', () => {
    const key = randomBytes(32);
    const opener = a.aeadNew!(key, false)!;
    const sealer = a.aeadNew!(key, true)!;
    const iv = new Uint8Array(12);
    const named = (name: string) => (e: unknown) =>
      (e as { code?: string }).code === 'ERR_INVALID_ARG' && (e as Error).message.startsWith(`${name}:`);
    assert.throws(() => a.aeadNew!(new Uint8Array(31), true), named('key'));
    assert.throws(() => a.aeadNew!(new Uint8Array(33), true), named('key'));
    assert.throws(() => a.aeadNew!(key, 1 as unknown as boolean), named('encrypt'));
    assert.throws(() => a.aeadOpen!({}, iv, iv, new Uint8Array(16)), named('context'));
    assert.throws(() => a.aeadOpen!(opener, new Uint8Array(11), iv, new Uint8Array(16)), named('iv'));
    assert.throws(
      () => a.aeadOpen!(opener, iv, 'x' as unknown as Uint8Array, new Uint8Array(16)),
      named('aad'),
    );
    assert.throws(() => a.aeadOpen!(opener, iv, iv, new Uint8Array(15)), named('buf'));
    // A context only works in the direction it was made for.
    assert.throws(() => a.aeadOpen!(sealer, iv, iv, new Uint8Array(16)), named('context'));
    assert.throws(() => a.aeadSeal!(opener, iv, iv, new Uint8Array(16)), named('context'));
    // Another addon object is not a context either.
    assert.throws(() => a.aeadOpen!(a.features(), iv, iv, new Uint8Array(16)), named('context'));
  });
});

describe('native sha256-bits check (the server-side PoW check)', { skip: skipNative }, () => {
  it('property: agrees with node:crypto for every challenge length, difficulty and nonce', () => {
    fc.assert(
      fc.property(
        bytes(200),
        fc.integer({ min: 0, max: 12 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (challenge, difficulty, nonce) => {
          assert.equal(
            verifySha256Bits({ challenge, difficulty }, nonce),
            verifySha256BitsNode({ challenge, difficulty }, nonce),
          );
          assert.equal(
            addon!.checkSha256Bits!(challenge, difficulty, nonce),
            verifySha256BitsNode({ challenge, difficulty }, nonce),
          );
        },
      ),
      { numRuns: 2000 },
    );
    // Solutions found by search are accepted by both; difficulty one above what the hash has is refused by both.
    const challenge = randomBytes(16);
    for (let nonce = 0n; nonce < 3000n; nonce++) {
      for (const difficulty of [0, 1, 4, 8, 64]) {
        assert.equal(
          addon!.checkSha256Bits!(challenge, difficulty, nonce),
          verifySha256BitsNode({ challenge, difficulty }, nonce),
        );
      }
    }
  });

  it('caller mistakes throw ERR_INVALID_ARG', () => {
    const named = (name: string) => (e: unknown) =>
      (e as { code?: string }).code === 'ERR_INVALID_ARG' && (e as Error).message.startsWith(`${name}:`);
    assert.throws(() => addon!.checkSha256Bits!(new Uint8Array(4097), 1, 0n), named('challenge'));
    assert.throws(() => addon!.checkSha256Bits!(new Uint8Array(4), 257, 0n), named('bits'));
    assert.throws(() => addon!.checkSha256Bits!(new Uint8Array(4), 1, 1n << 64n), named('nonce'));
    assert.throws(
      () => addon!.checkSha256Bits!(new Uint8Array(4), 1, 1 as unknown as bigint),
      named('nonce'),
    );
  });
});
