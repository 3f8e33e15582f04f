/**
 * Seeded randomness for simulations and tests (a run is reproducible from its seed); the
 * services use `cryptoRandom` of src/util/random.ts. Not for secrets.
 */
import type { Random } from './state.js';

/** mulberry32: a small, fast, well-mixed 32-bit generator. */
export function seededRandom(seed: number): Random & { next32(): number } {
  let a = seed >>> 0;
  const next32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    next32,
    u64: () => (BigInt(next32()) << 32n) | BigInt(next32()),
    int: (n: number) => Math.floor((next32() / 2 ** 32) * n),
  };
}
