import { randomInt } from 'node:crypto';

/**
 * Randomness is injected (DESIGN "Layers": protocol code takes time, randomness and storage
 * as parameters), so that simulations replay from a seed and services use the OS generator.
 */
export interface Random {
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** A uniform 64-bit unsigned integer. */
  u64(): bigint;
}

/** The OS generator, for services. */
export const cryptoRandom: Random = {
  int: (n) => (n <= 1 ? 0 : randomInt(n)),
  u64: () => {
    const b = new BigUint64Array(1);
    globalThis.crypto.getRandomValues(b);
    return b[0]!;
  },
};

/** Fisher-Yates, in place: the one shuffle (peer sampling, push targets, address lists). */
export function shuffleInPlace<T>(list: T[], random: Random): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = list[i]!;
    list[i] = list[j]!;
    list[j] = t;
  }
  return list;
}
