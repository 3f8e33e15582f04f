/**
 * The scrypt proof-of-work hash of seed 004 (`scrypt_C(m) < k`), defined exactly:
 *
 *   H(m, nonce) = scrypt(password = m || nonce as u64 big-endian,
 *                        salt = "tollgate-scrypt-pow-v1", N, r, p, dkLen = 32)
 *
 * read as a 256-bit big-endian integer; a proof is valid iff H < k. The fixed salt separates
 * this use of scrypt from any other. Pure and synchronous: callers run it in a worker thread.
 */
import { scryptSync } from 'node:crypto';
import { assertBytes } from '../util/args.js';
import { ArgumentError } from '../util/errors.js';
import { POW_LIMITS } from './limits.js';

export const SCRYPT_SALT = Buffer.from('tollgate-scrypt-pow-v1', 'latin1');
export const SCRYPT_DKLEN = 32;

/** Configuration C of seed 004. */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Throws ArgumentError naming the parameter unless C is within the limits of limits.ts. */
export function checkScryptCost(cost: ScryptCost): void {
  const { N, r, p } = cost;
  if (!Number.isInteger(N) || N < 2 || N > POW_LIMITS.maxScryptN || (N & (N - 1)) !== 0) {
    throw new ArgumentError(
      'N',
      `expected a power of two in [2, ${POW_LIMITS.maxScryptN}], got ${String(N)}`,
    );
  }
  if (!Number.isInteger(r) || r < 1 || r > POW_LIMITS.maxScryptR) {
    throw new ArgumentError('r', `expected an integer in [1, ${POW_LIMITS.maxScryptR}], got ${String(r)}`);
  }
  if (!Number.isInteger(p) || p < 1 || p > POW_LIMITS.maxScryptP) {
    throw new ArgumentError('p', `expected an integer in [1, ${POW_LIMITS.maxScryptP}], got ${String(p)}`);
  }
  if (128 * N * r > POW_LIMITS.maxScryptMemoryBytes) {
    throw new ArgumentError(
      'N',
      `128 * N * r = ${128 * N * r} bytes exceeds the limit of ${POW_LIMITS.maxScryptMemoryBytes} bytes`,
    );
  }
}

export function scryptPowHash(message: Uint8Array, nonce: bigint, cost: ScryptCost): Buffer {
  assertBytes('message', message, 0, POW_LIMITS.maxScryptMessageBytes);
  if (typeof nonce !== 'bigint' || nonce < 0n || nonce >= 1n << 64n) {
    throw new ArgumentError('nonce', 'expected an unsigned 64-bit bigint');
  }
  checkScryptCost(cost);
  const password = Buffer.alloc(message.length + 8);
  password.set(message, 0);
  password.writeBigUInt64BE(nonce, message.length);
  return scryptSync(password, SCRYPT_SALT, SCRYPT_DKLEN, {
    N: cost.N,
    r: cost.r,
    p: cost.p,
    maxmem: 2 * POW_LIMITS.maxScryptMemoryBytes,
  });
}
