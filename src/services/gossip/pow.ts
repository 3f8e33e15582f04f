/**
 * The Gossip service's use of the PoW core: seed 002's verification puzzle is sha256-bits over
 * the VERIFICATION RESPONSE's first 12 bytes with the 64-bit solution last.
 */
import { getBackend } from '../../pow/backend.js';
import { solveSha256Bits, verifySha256Bits } from '../../pow/sha256-bits.js';

export function verifyVerification(challenge: Uint8Array, nonce: bigint, bits: number): boolean {
  return verifySha256Bits({ challenge, difficulty: bits }, nonce);
}

/** Solves off the main thread (the core's worker pool), so the node keeps serving meanwhile. */
export async function solveVerification(
  prefix: Uint8Array,
  bits: number,
  signal?: AbortSignal,
): Promise<bigint> {
  const result = await solveSha256Bits({ challenge: prefix, difficulty: bits }, signal ? { signal } : {});
  return result.nonce;
}

/** A PoW that solves synchronously, for simulations (test/harness/simnet.ts). */
export interface SimPow {
  solve(prefix: Uint8Array, bits: number): bigint;
  verify(challenge: Uint8Array, nonce: bigint, bits: number): boolean;
}

/**
 * Synchronous solving through the core's hash backend, for simulations at low difficulty
 * (a simulated peer's solve is an instant in simulated time).
 */
export function simPow(): SimPow {
  const backend = getBackend('auto');
  return {
    verify: verifyVerification,
    solve(prefix, bits) {
      for (let start = 0n; ; start += 1_000_000n) {
        const r = backend.searchSha256Bits(prefix, bits, start, 1_000_000);
        if (r.found) return r.nonce;
      }
    },
  };
}
