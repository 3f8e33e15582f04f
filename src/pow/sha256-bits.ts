/**
 * sha256-bits (seed 000 "Proof of Work"): a nonce is valid for (challenge, d) iff
 * SHA-256(challenge || nonce as 8-byte big-endian) has at least d leading zero bits.
 */
import { hash } from 'node:crypto';
import { assertBytes, assertInteger } from '../util/args.js';
import { ArgumentError } from '../util/errors.js';
import { getBackend } from './backend.js';
import { POW_LIMITS } from './limits.js';
import { solveInPool } from './solve.js';
import type { SolveOptions, SolveResult } from './types.js';

export interface Sha256BitsPuzzle {
  readonly challenge: Uint8Array;
  /** Leading zero bits required, 0..POW_LIMITS.maxSha256Bits. */
  readonly difficulty: number;
}

const U64_END = 1n << 64n;

function checkPuzzle(puzzle: Sha256BitsPuzzle): void {
  assertBytes('challenge', puzzle.challenge, 0, POW_LIMITS.maxChallengeBytes);
  assertInteger('difficulty', puzzle.difficulty, 0, POW_LIMITS.maxSha256Bits);
}

/** Leading zero bits of a byte string. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const byte of bytes) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

// One scratch buffer for every hash: verification runs per inbound proof, so it allocates
// nothing but the digest (crypto.hash is node:crypto's one-shot API, without a Hash object).
const scratch = Buffer.alloc(POW_LIMITS.maxChallengeBytes + 8);

/** SHA-256(challenge || nonce as u64 big-endian). */
export function sha256BitsHash(challenge: Uint8Array, nonce: bigint): Buffer {
  assertBytes('challenge', challenge, 0, POW_LIMITS.maxChallengeBytes);
  if (typeof nonce !== 'bigint' || nonce < 0n || nonce >= U64_END) {
    throw new ArgumentError('nonce', 'expected an unsigned 64-bit bigint');
  }
  scratch.set(challenge, 0);
  scratch.writeBigUInt64BE(nonce, challenge.length);
  return hash('sha256', scratch.subarray(0, challenge.length + 8), 'buffer');
}

/** Expected attempts to solve at `difficulty` bits: 2^difficulty. */
export function expectedAttempts(difficulty: number): number {
  assertInteger('difficulty', difficulty, 0, POW_LIMITS.maxSha256Bits);
  return 2 ** difficulty;
}

/** One hash through node:crypto, independent of the solver backends. */
export function verifySha256Bits(puzzle: Sha256BitsPuzzle, nonce: bigint): boolean {
  checkPuzzle(puzzle);
  if (typeof nonce !== 'bigint') throw new ArgumentError('nonce', 'expected a bigint');
  if (nonce < 0n || nonce >= U64_END) return false;
  return leadingZeroBits(sha256BitsHash(puzzle.challenge, nonce)) >= puzzle.difficulty;
}

/** Searches nonces from 0 on `opts.workers` pool workers; the first solution wins. */
export async function solveSha256Bits(
  puzzle: Sha256BitsPuzzle,
  opts: SolveOptions = {},
): Promise<SolveResult> {
  checkPuzzle(puzzle);
  const backend = opts.backend ?? 'auto';
  const name = getBackend(backend).name;
  return solveInPool(
    { op: 'sha256-bits', challenge: puzzle.challenge, bits: puzzle.difficulty, backend },
    expectedAttempts(puzzle.difficulty),
    name,
    opts,
  );
}
