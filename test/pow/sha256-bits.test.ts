import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { POW_LIMITS } from '../../src/pow/limits.js';
import { closePools } from '../../src/pow/pool.js';
import {
  expectedAttempts,
  leadingZeroBits,
  sha256BitsHash,
  solveSha256Bits,
  verifySha256Bits,
} from '../../src/pow/sha256-bits.js';

after(() => closePools());

test('solve then verify, for random challenges and small difficulties (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 70 }),
      fc.integer({ min: 0, max: 10 }),
      async (challenge, d) => {
        const r = await solveSha256Bits({ challenge, difficulty: d }, { backend: 'ts' });
        assert.equal(verifySha256Bits({ challenge, difficulty: d }, r.nonce), true);
        assert.ok(leadingZeroBits(sha256BitsHash(challenge, r.nonce)) >= d);
        assert.equal(r.backend, 'ts');
        assert.equal(r.workers, 1);
        // Nonces are searched from 0 on one worker: every earlier nonce fails.
        assert.equal(r.attempts, Number(r.nonce) + 1);
      },
    ),
    { numRuns: 25 },
  );
});

test('verify rejects a nonce one bit short of the difficulty (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      (challenge, nonce) => {
        const z = leadingZeroBits(sha256BitsHash(challenge, nonce));
        assert.equal(verifySha256Bits({ challenge, difficulty: z }, nonce), true);
        if (z < POW_LIMITS.maxSha256Bits)
          assert.equal(verifySha256Bits({ challenge, difficulty: z + 1 }, nonce), false);
      },
    ),
  );
});

test('expectedAttempts is 2^d', () => {
  assert.equal(expectedAttempts(0), 1);
  assert.equal(expectedAttempts(20), 1 << 20);
});

test('limits: difficulty, challenge length and workers at limit + 1 are refused', async () => {
  const challenge = new Uint8Array(16);
  assert.throws(
    () => verifySha256Bits({ challenge, difficulty: POW_LIMITS.maxSha256Bits + 1 }, 0n),
    /difficulty/,
  );
  assert.throws(() => expectedAttempts(POW_LIMITS.maxSha256Bits + 1), /difficulty/);
  assert.equal(verifySha256Bits({ challenge, difficulty: POW_LIMITS.maxSha256Bits }, 0n), false);
  const long = new Uint8Array(POW_LIMITS.maxChallengeBytes + 1);
  assert.throws(() => verifySha256Bits({ challenge: long, difficulty: 1 }, 0n), /challenge/);
  await assert.rejects(solveSha256Bits({ challenge: long, difficulty: 1 }), /challenge/);
  await assert.rejects(
    solveSha256Bits({ challenge, difficulty: 1 }, { workers: POW_LIMITS.maxSolveWorkers + 1 }),
    (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARG' && /workers/.test(e.message),
  );
  await assert.rejects(solveSha256Bits({ challenge, difficulty: 1 }, { maxAttempts: -1 }), /maxAttempts/);
});

test('verify: a nonce outside 64 bits is invalid; a non-bigint is a caller error', () => {
  const puzzle = { challenge: new Uint8Array(4), difficulty: 0 };
  assert.equal(verifySha256Bits(puzzle, -1n), false);
  assert.equal(verifySha256Bits(puzzle, 1n << 64n), false);
  assert.throws(() => verifySha256Bits(puzzle, 1 as unknown as bigint), /nonce/);
});
