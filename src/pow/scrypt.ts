/**
 * scrypt PoW (seed 004: "scrypt_C(m) < k for some pre-determined k and Scrypt hash function
 * with configuration C"). What is hashed is defined in scrypt-hash.ts:
 *
 *   scrypt(password = m || nonce u64 BE, salt = "tollgate-scrypt-pow-v1", N, r, p, dkLen = 32)
 *
 * read as a 256-bit big-endian integer, valid iff < k. Verification runs in the bounded
 * verify pool (pool.ts): scrypt is memory-hard by design, so it must neither block the event
 * loop nor occupy libuv's shared threads, and a flood of proofs is refused (ERR_POOL_BUSY)
 * instead of queued without bound.
 */
import { assertBytes, assertInteger } from '../util/args.js';
import { ArgumentError } from '../util/errors.js';
import { POW_LIMITS } from './limits.js';
import { getVerifyPool } from './pool.js';
import { checkScryptCost, type ScryptCost } from './scrypt-hash.js';
import { solveInPool } from './solve.js';
import type { SolveOptions, SolveResult } from './types.js';

export { SCRYPT_DKLEN, SCRYPT_SALT, type ScryptCost, scryptPowHash } from './scrypt-hash.js';

export interface ScryptParams extends ScryptCost {
  /** k: a proof is valid iff the hash, as a 256-bit big-endian integer, is below it. */
  readonly target: bigint;
}

const TWO_256 = 1n << 256n;
const U64_END = 1n << 64n;

/** k = 2^(256 - bits): on average one hash in 2^bits is below it. */
export function targetForBits(bits: number): bigint {
  assertInteger('bits', bits, 0, 256);
  return 1n << BigInt(256 - bits);
}

/** The default configuration C and target k (limits.ts). */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = {
  N: POW_LIMITS.defaultScryptN,
  r: POW_LIMITS.defaultScryptR,
  p: POW_LIMITS.defaultScryptP,
  target: targetForBits(POW_LIMITS.defaultScryptTargetBits),
};

export function checkScryptParams(params: ScryptParams): void {
  checkScryptCost(params);
  if (typeof params.target !== 'bigint' || params.target < 1n || params.target > TWO_256) {
    throw new ArgumentError('target', 'expected a bigint in [1, 2^256]');
  }
}

/** Expected hashes to find one below `target`: 2^256 / target. */
export function expectedAttempts(target: bigint): number {
  if (typeof target !== 'bigint' || target < 1n || target > TWO_256) {
    throw new ArgumentError('target', 'expected a bigint in [1, 2^256]');
  }
  return 2 ** 256 / Number(target);
}

/** Searches nonces from 0 in the solve pool; each attempt is one scrypt evaluation. */
export async function solveScrypt(
  message: Uint8Array,
  params: ScryptParams,
  opts: SolveOptions = {},
): Promise<SolveResult> {
  assertBytes('message', message, 0, POW_LIMITS.maxScryptMessageBytes);
  checkScryptParams(params);
  const { N, r, p, target } = params;
  // Attempts cost milliseconds: small chunks keep the workers' shares even.
  return solveInPool(
    { op: 'scrypt-search', message, N, r, p, target },
    expectedAttempts(target),
    'node-crypto',
    opts,
    16,
  );
}

/**
 * true iff scrypt_C(message || nonce) < k. Runs in the verify pool; rejects with
 * ERR_POOL_BUSY when its queue is full.
 */
export async function verifyScrypt(
  message: Uint8Array,
  nonce: bigint,
  params: ScryptParams,
): Promise<boolean> {
  assertBytes('message', message, 0, POW_LIMITS.maxScryptMessageBytes);
  checkScryptParams(params);
  if (typeof nonce !== 'bigint') throw new ArgumentError('nonce', 'expected a bigint');
  if (nonce < 0n || nonce >= U64_END) return false;
  const { N, r, p } = params;
  const hash = await getVerifyPool().run<Uint8Array>({ op: 'scrypt-hash', message, nonce, N, r, p });
  return BigInt(`0x${Buffer.from(hash).toString('hex')}`) < params.target;
}
