/**
 * The handshake's proof of work: seed 004's `scrypt_C(m) < k` with C = (N, r, p) and
 * k = 2^(256 - bits), or the core's sha256-bits puzzle as a cheaper alternative, or none.
 * The puzzle input is SHA-256(label | the message bytes up to the end of m) and the varied
 * nonce is the message's u64 pow field, so the work is bound to every field of m.
 */
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

/** scrypt cost C when not given: N = 2^14, r = 8, p = 1 (16 MiB, a few tens of ms per hash). */
export const DEFAULT_SCRYPT = Object.freeze({ N: 1 << 14, r: 8, p: 1 });

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

export function checkPowConfig(name: string, pow: HandshakePow): HandshakePow {
  if (pow.kind === 'none') return pow;
  if (pow.kind !== 'scrypt' && pow.kind !== 'sha256-bits') {
    throw new ArgumentError(`${name}.kind`, 'expected none, scrypt or sha256-bits');
  }
  if (!Number.isInteger(pow.bits) || pow.bits < 0 || pow.bits > 64) {
    throw new ArgumentError(`${name}.bits`, 'expected an integer in [0, 64]');
  }
  if (pow.kind === 'scrypt') {
    const N = pow.N ?? DEFAULT_SCRYPT.N;
    if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0) {
      throw new ArgumentError(`${name}.N`, 'expected a power of two in [2, 2^20]');
    }
    for (const [k, v, max] of [
      ['r', pow.r ?? DEFAULT_SCRYPT.r, 32],
      ['p', pow.p ?? DEFAULT_SCRYPT.p, 16],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max)
        throw new ArgumentError(`${name}.${k}`, `expected 1..${max}`);
    }
  }
  return pow;
}

/** The engine for `{ kind: 'none' }`: nothing to solve, nothing to check. */
export const noPow: PowEngine = {
  solve: async () => 0n,
  verify: async (_pow, _input, nonce) => nonce === 0n,
};
