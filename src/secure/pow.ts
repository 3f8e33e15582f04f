/**
 * The handshake's proof of work: seed 004's `scrypt_C(m) < k` with C = (N, r, p) and
 * k = 2^(256 - bits), or the core's sha256-bits puzzle as a cheaper alternative, or none.
 * The puzzle input is SHA-256(label | the message bytes up to the end of m) and the varied
 * nonce is the message's u64 pow field, so the work is bound to every field of m.
 */
import { DEFAULT_SCRYPT_PARAMS } from '../pow/scrypt.js';
import { checkScryptCost } from '../pow/scrypt-hash.js';
import { ArgumentError } from '../util/errors.js';
import { PowKind } from '../wire/handshake.js';

export type HandshakePow =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'scrypt';
      readonly bits: number;
      readonly N?: number;
      readonly r?: number;
      readonly p?: number;
    }
  | { readonly kind: 'sha256-bits'; readonly bits: number };

/** scrypt cost C when not given: the core's default (src/pow/limits.ts). */
export const DEFAULT_SCRYPT = Object.freeze({
  N: DEFAULT_SCRYPT_PARAMS.N,
  r: DEFAULT_SCRYPT_PARAMS.r,
  p: DEFAULT_SCRYPT_PARAMS.p,
});

/** Solves and verifies handshake puzzles; verification may reject with ERR_POOL_BUSY. */
export interface PowEngine {
  solve(pow: HandshakePow, input: Uint8Array, signal?: AbortSignal): Promise<bigint>;
  verify(pow: HandshakePow, input: Uint8Array, nonce: bigint): Promise<boolean>;
}

export function powKindByte(pow: HandshakePow): PowKind {
  return pow.kind === 'none' ? PowKind.none : pow.kind === 'scrypt' ? PowKind.scrypt : PowKind.sha256Bits;
}

export function powBits(pow: HandshakePow): number {
  return pow.kind === 'none' ? 0 : pow.bits;
}

/** Checks a puzzle configuration (caller mistakes throw, naming the field). */
export function checkPowConfig(name: string, pow: HandshakePow): HandshakePow {
  if (pow === null || typeof pow !== 'object') throw new ArgumentError(name, 'expected an object');
  if (pow.kind === 'none') return pow;
  if (pow.kind !== 'scrypt' && pow.kind !== 'sha256-bits') {
    throw new ArgumentError(`${name}.kind`, 'expected none, scrypt or sha256-bits');
  }
  // The handshake carries the difficulty in one byte; 64 bits is already beyond any honest use.
  if (!Number.isInteger(pow.bits) || pow.bits < 0 || pow.bits > 64) {
    throw new ArgumentError(`${name}.bits`, 'expected an integer in [0, 64]');
  }
  if (pow.kind === 'scrypt') {
    try {
      checkScryptCost({
        N: pow.N ?? DEFAULT_SCRYPT.N,
        r: pow.r ?? DEFAULT_SCRYPT.r,
        p: pow.p ?? DEFAULT_SCRYPT.p,
      });
    } catch (error) {
      if (error instanceof ArgumentError) throw new ArgumentError(`${name}.${error.argument}`, error.message);
      throw error;
    }
  }
  return pow;
}

/** The engine for `{ kind: 'none' }`: nothing to solve, nothing to check. */
export const noPow: PowEngine = {
  solve: async () => 0n,
  verify: async (_pow, _input, nonce) => nonce === 0n,
};
