import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { after, test } from 'node:test';
import { POW_LIMITS } from '../../src/pow/limits.js';
import { closePools, verifyPoolSize } from '../../src/pow/pool.js';
import {
  expectedAttempts,
  type ScryptParams,
  scryptPowHash,
  solveScrypt,
  targetForBits,
  verifyScrypt,
} from '../../src/pow/scrypt.js';

after(() => closePools());

const cheap: ScryptParams = { N: 16, r: 1, p: 1, target: targetForBits(4) };
const message = Uint8Array.from(Buffer.from('handshake message m'));

test('the hash is scrypt(m || nonce u64 BE, "tollgate-scrypt-pow-v1", N, r, p, 32)', () => {
  const nonce = 0x0102030405060708n;
  const password = Buffer.concat([message, Buffer.from('0102030405060708', 'hex')]);
  const expected = scryptSync(password, 'tollgate-scrypt-pow-v1', 32, { N: 16, r: 1, p: 1 });
  assert.deepEqual(scryptPowHash(message, nonce, cheap), expected);
});

test('targets: k = 2^(256 - bits); expected attempts 2^bits', () => {
  assert.equal(targetForBits(0), 1n << 256n);
  assert.equal(targetForBits(8), 1n << 248n);
  assert.equal(expectedAttempts(targetForBits(8)), 256);
  assert.throws(() => targetForBits(257), /bits/);
});

test('solve then verify; the hash of the winning nonce is below k, earlier ones are not', async () => {
  const r = await solveScrypt(message, cheap, { workers: 2 });
  assert.equal(await verifyScrypt(message, r.nonce, cheap), true);
  const h = BigInt(`0x${scryptPowHash(message, r.nonce, cheap).toString('hex')}`);
  assert.ok(h < cheap.target);
  assert.equal(r.backend, 'node-crypto');
  // Below-target proofs are rejected: the same nonce at a target just at its hash fails.
  assert.equal(await verifyScrypt(message, r.nonce, { ...cheap, target: h }), false);
  assert.equal(await verifyScrypt(message, r.nonce, { ...cheap, target: h + 1n }), true);
  assert.equal(await verifyScrypt(message, 1n << 64n, cheap), false);
});

test('limits: N, r, p, memory and message size at limit + 1 are refused, naming the parameter', async () => {
  const bad = async (params: Partial<ScryptParams>, name: RegExp, m = message) => {
    await assert.rejects(verifyScrypt(m, 0n, { ...cheap, ...params }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_INVALID_ARG');
      assert.match(e.message, name);
      return true;
    });
  };
  await bad({ N: POW_LIMITS.maxScryptN * 2 }, /^N:/);
  await bad({ N: 1000 }, /^N:/);
  await bad({ r: POW_LIMITS.maxScryptR + 1 }, /^r:/);
  await bad({ p: POW_LIMITS.maxScryptP + 1 }, /^p:/);
  // 128 * N * r one step over the memory cap.
  await bad({ N: POW_LIMITS.maxScryptMemoryBytes / 128 / 4, r: 8 }, /^N: 128 \* N \* r/);
  await bad({ target: 0n }, /^target:/);
  await bad({}, /^message:/, new Uint8Array(POW_LIMITS.maxScryptMessageBytes + 1));
  assert.equal(
    await verifyScrypt(new Uint8Array(POW_LIMITS.maxScryptMessageBytes), 0n, {
      ...cheap,
      target: 1n << 256n,
    }),
    true,
  );
});

test('limit: past POW_LIMITS.verifyQueueLimit waiting verifications, verify rejects with ERR_POOL_BUSY', async () => {
  const params: ScryptParams = { N: 1024, r: 8, p: 1, target: targetForBits(0) };
  const calls = Array.from({ length: verifyPoolSize() + POW_LIMITS.verifyQueueLimit + 1 }, (_, i) =>
    verifyScrypt(message, BigInt(i), params).then(
      (ok) => (ok ? 'ok' : 'invalid'),
      (e: Error & { code?: string }) => e.code ?? 'other',
    ),
  );
  const results = await Promise.all(calls);
  assert.equal(results.filter((r) => r === 'ERR_POOL_BUSY').length, 1);
  assert.equal(results.filter((r) => r === 'ok').length, verifyPoolSize() + POW_LIMITS.verifyQueueLimit);
  assert.equal(results.at(-1), 'ERR_POOL_BUSY');
});
