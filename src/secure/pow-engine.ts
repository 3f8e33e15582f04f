/**
 * The default PoW engine: the core's puzzles (src/pow), verified in its bounded worker pool.
 */
import { ArgumentError } from '../util/errors.js';
import type { SecureLimits } from './limits.js';
import { type HandshakePow, noPow, type PowEngine } from './pow.js';

export function defaultPowEngine(_limits: SecureLimits): PowEngine {
  return {
    solve: (pow, input, signal) => {
      if (pow.kind === 'none') return noPow.solve(pow, input, signal);
      throw new ArgumentError('options.pow.kind', `${pow.kind} is not available yet`);
    },
    verify: (pow: HandshakePow, input, nonce) => {
      if (pow.kind === 'none') return noPow.verify(pow, input, nonce);
      throw new ArgumentError('options.pow.kind', `${pow.kind} is not available yet`);
    },
  };
}
