/**
 * The default PoW engine: the core's puzzles. scrypt proofs are verified in the core's
 * bounded verify pool (worker threads, never libuv's pool); on top of the pool's own queue
 * limit, each context admits at most `powQueueLimit` verifications in flight, so one busy
 * listener cannot take the whole pool and a flood is refused rather than queued.
 */
import { solveScrypt, targetForBits, verifyScrypt } from '../pow/scrypt.js';
import { solveSha256Bits, verifySha256Bits } from '../pow/sha256-bits.js';
import { TollgateError } from '../util/errors.js';
import type { SecureLimits } from './limits.js';
import { DEFAULT_SCRYPT, type HandshakePow, noPow, type PowEngine } from './pow.js';

function scryptParams(pow: Extract<HandshakePow, { kind: 'scrypt' }>) {
  return {
    N: pow.N ?? DEFAULT_SCRYPT.N,
    r: pow.r ?? DEFAULT_SCRYPT.r,
    p: pow.p ?? DEFAULT_SCRYPT.p,
    target: targetForBits(pow.bits),
  };
}

export function defaultPowEngine(limits: SecureLimits): PowEngine {
  let inFlight = 0;
  return {
    async solve(pow, input, signal) {
      if (pow.kind === 'none') return noPow.solve(pow, input, signal);
      const opts = signal === undefined ? {} : { signal };
      if (pow.kind === 'sha256-bits') {
        return (await solveSha256Bits({ challenge: input, difficulty: pow.bits }, opts)).nonce;
      }
      return (await solveScrypt(input, scryptParams(pow), opts)).nonce;
    },
    async verify(pow, input, nonce) {
      if (pow.kind === 'none') return noPow.verify(pow, input, nonce);
      // One SHA-256: cheaper inline than a trip to a worker.
      if (pow.kind === 'sha256-bits')
        return verifySha256Bits({ challenge: input, difficulty: pow.bits }, nonce);
      if (inFlight >= limits.powQueueLimit) {
        throw new TollgateError('ERR_POOL_BUSY', `${inFlight} handshake proofs already being verified`);
      }
      inFlight++;
      try {
        return await verifyScrypt(input, nonce, scryptParams(pow));
      } finally {
        inFlight--;
      }
    },
  };
}
