/**
 * Known hash power for the attack lab (issue 9, "an attacker with a known hash power"). A
 * `HashMeter` is a token bucket of hash attempts: every solver of one process draws from it,
 * so an honest client gets exactly H attempts a second and an attacker k x H, whatever the
 * machine's cores. On a host with too few cores for k x H the meter simply runs dry less
 * often; the process reports the attempts it really made, so the rate is accounted, not assumed.
 */

import { getBackend } from '../../src/pow/backend.js';
import { encodeCounter } from '../../src/pow/hashcash.js';
import { scryptPowHash, targetForBits } from '../../src/pow/scrypt.js';
import { verifySha256Bits } from '../../src/pow/sha256-bits.js';
import { DEFAULT_SCRYPT, type HandshakePow, type PowEngine } from '../../src/secure/index.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HashMeter {
  /** Attempts made so far (all solvers of this process). */
  spent = 0;
  private tokens: number;
  private at = performance.now();

  /** `rate` attempts per second; bursts up to a tenth of a second's worth. */
  constructor(readonly rate: number) {
    this.tokens = 0;
  }

  /** Waits until `n` attempts are allowed (a chunk at most rate / 10). */
  async take(n: number): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      const now = performance.now();
      this.tokens = Math.min(Math.max(n, this.rate / 10), this.tokens + ((now - this.at) / 1000) * this.rate);
      this.at = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return;
      }
      await sleep(Math.max(1, ((n - this.tokens) / this.rate) * 1000));
    }
  }

  /** Gives back attempts drawn but not made (a search that found its nonce early). */
  refund(n: number): void {
    if (n > 0) this.tokens += n;
  }

  /** Attempts per chunk: small enough to share the meter evenly, large enough to be cheap. */
  get chunk(): number {
    return Math.max(64, Math.floor(this.rate / 50));
  }
}

/**
 * Solves a hashcash-sha1 puzzle (the powtcp `2:` header) at the meter's rate; returns the
 * solved header, or undefined when `signal` aborts or `maxAttempts` is spent.
 */
export async function solveHashcashMetered(
  header: string,
  meter: HashMeter,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const bits = Number(header.split(':')[1]);
  const prefix = header.slice(0, header.lastIndexOf(':') + 1);
  const backend = getBackend('auto');
  const bytes = Buffer.from(prefix, 'latin1');
  let start = 0n;
  // Draw no more than about the puzzle's expected work at once: a 1-digit puzzle must not
  // wait for a whole chunk of the meter.
  const step = Math.min(meter.chunk, Math.max(64, 16 ** bits));
  for (let i = 0; i < 1_000_000; i++) {
    if (signal?.aborted) return undefined;
    const n = step;
    await meter.take(n);
    const r = backend.searchHashcash(bytes, bits, start, n);
    meter.spent += r.attempts;
    meter.refund(n - r.attempts);
    if (r.found) return prefix + encodeCounter(r.nonce);
    start = r.nonce;
  }
  return undefined;
}

/**
 * A handshake PoW engine whose solver runs at the meter's rate (sha256-bits: attempts are
 * SHA-256 compressions; scrypt: attempts are scrypt evaluations); verification is the
 * product's own engine, so the responder is measured as deployed.
 */
export function meteredEngine(meter: HashMeter, verifier: PowEngine): PowEngine {
  return {
    async solve(pow: HandshakePow, input: Uint8Array, signal?: AbortSignal): Promise<bigint> {
      if (pow.kind === 'none') return 0n;
      if (pow.kind === 'sha256-bits') {
        const backend = getBackend('auto');
        let start = 0n;
        const step = Math.min(meter.chunk, Math.max(64, 2 ** pow.bits));
        for (let i = 0; i < 1_000_000; i++) {
          if (signal?.aborted) throw new Error('aborted');
          const n = step;
          await meter.take(n);
          const r = backend.searchSha256Bits(input, pow.bits, start, n);
          meter.spent += r.attempts;
          meter.refund(n - r.attempts);
          if (r.found) return r.nonce;
          start = r.nonce;
        }
        throw new Error('budget');
      }
      const cost = {
        N: pow.N ?? DEFAULT_SCRYPT.N,
        r: pow.r ?? DEFAULT_SCRYPT.r,
        p: pow.p ?? DEFAULT_SCRYPT.p,
      };
      const target = targetForBits(pow.bits);
      for (let nonce = 0n; nonce < 1_000_000n; nonce++) {
        if (signal?.aborted) throw new Error('aborted');
        await meter.take(1);
        meter.spent++;
        const h = scryptPowHash(input, nonce, cost);
        if (BigInt(`0x${h.toString('hex')}`) < target) return nonce;
      }
      throw new Error('budget');
    },
    verify(pow, input, nonce) {
      if (pow.kind === 'sha256-bits')
        return Promise.resolve(verifySha256Bits({ challenge: input, difficulty: pow.bits }, nonce));
      return verifier.verify(pow, input, nonce);
    },
  };
}
