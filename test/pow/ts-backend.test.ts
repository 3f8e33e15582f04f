import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { searchHashcashTs, searchSha256BitsTs } from '../../src/pow/ts-backend.js';

function zeroBits(digest: Buffer): number {
  let n = 0;
  for (const b of digest) {
    if (b !== 0) return n + Math.clz32(b) - 24;
    n += 8;
  }
  return n;
}

function sha256Bits(challenge: Uint8Array, nonce: bigint): number {
  const suffix = Buffer.alloc(8);
  suffix.writeBigUInt64BE(nonce);
  return zeroBits(createHash('sha256').update(challenge).update(suffix).digest());
}

/** The first nonce in [start, start + count) meeting `bits`, by node:crypto. */
function referenceSha256(challenge: Uint8Array, bits: number, start: bigint, count: number): bigint | null {
  for (let i = 0n; i < BigInt(count); i++) {
    if (start + i >= 1n << 64n) return null;
    if (sha256Bits(challenge, start + i) >= bits) return start + i;
  }
  return null;
}

function referenceHashcash(prefix: string, hexZeros: number, start: bigint, count: number): bigint | null {
  for (let i = 0n; i < BigInt(count); i++) {
    const text = prefix + Buffer.from((start + i).toString()).toString('base64');
    const hex = createHash('sha1').update(text).digest('hex');
    if (hex.startsWith('0'.repeat(hexZeros))) return start + i;
  }
  return null;
}

test('sha256-bits search agrees with node:crypto for every challenge layout (0..140 bytes)', () => {
  for (let len = 0; len <= 140; len++) {
    const challenge = new Uint8Array(len).map((_, i) => (i * 29 + len) & 0xff);
    for (const start of [0n, (1n << 32n) - 40n, (1n << 64n) - 100n]) {
      const r = searchSha256BitsTs(challenge, 6, start, 400);
      const expected = referenceSha256(challenge, 6, start, 400);
      assert.equal(r.found ? r.nonce : null, expected, `length ${len}, start ${start}`);
      if (r.found) assert.equal(r.attempts, Number(r.nonce - start) + 1);
    }
  }
});

test('sha256-bits search: random challenges, starts and difficulties (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 9 }),
      (challenge, start, bits) => {
        const r = searchSha256BitsTs(challenge, bits, start, 300);
        assert.equal(r.found ? r.nonce : null, referenceSha256(challenge, bits, start, 300));
      },
    ),
    { numRuns: 60 },
  );
});

test('sha256-bits: difficulties above 32 bits check the following words', () => {
  // Not found in a short range at 40 bits; nonces at 0 difficulty are found at once.
  const challenge = new Uint8Array(16);
  const r = searchSha256BitsTs(challenge, 40, 0n, 5000);
  assert.equal(r.found, false);
  assert.equal(r.attempts, 5000);
  assert.equal(r.nonce, 5000n);
  assert.deepEqual(searchSha256BitsTs(challenge, 0, 7n, 10), { found: true, nonce: 7n, attempts: 1 });
});

test('sha256-bits: the search ends at the end of the 64-bit nonce space', () => {
  const r = searchSha256BitsTs(new Uint8Array(16), 64, (1n << 64n) - 10n, 100);
  assert.equal(r.found, false);
  assert.equal(r.attempts, 10);
});

test('hashcash search agrees with node:crypto for prefix layouts and counter lengths', () => {
  for (let len = 1; len <= 140; len += 3) {
    const prefix = `1:2:${'r'.repeat(len)}::AAAA:`;
    for (const start of [0n, 97n, 99_990n, 999_999_990n]) {
      const r = searchHashcashTs(Buffer.from(prefix), 2, start, 700);
      assert.equal(
        r.found ? r.nonce : null,
        referenceHashcash(prefix, 2, start, 700),
        `length ${len}, start ${start}`,
      );
    }
  }
});

test('a set stop flag ends a search at once without a result', () => {
  const stop = new Int32Array(new SharedArrayBuffer(8));
  Atomics.store(stop, 0, 1);
  const a = searchSha256BitsTs(new Uint8Array(16), 64, 0n, 1_000_000, stop);
  assert.deepEqual(a, { found: false, nonce: 0n, attempts: 0 });
  const b = searchHashcashTs(Buffer.from('1:9:x:'), 9, 5n, 1_000_000, stop);
  assert.deepEqual(b, { found: false, nonce: 5n, attempts: 0 });
});
